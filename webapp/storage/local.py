"""Media on this machine's disk, under one folder (MEDIA_ROOT): the store for one machine.

A key is a path under the root. Files are written to a dot-named partial file and renamed,
and a finished folder is renamed into place whole, so readers never see half of either.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from webapp.storage.base import Chunks, MissingObject, ObjectInfo, check_key, is_key


class LocalStore:
    """The local-disk backend."""

    name = "local"

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def _path(self, key: str, prefix: bool = False) -> Path:
        path = (self.root / check_key(key, prefix=prefix)).resolve()
        if not path.is_relative_to(self.root):  # a symlink pointing out
            raise ValueError(f"not a media key: {key!r}")
        return path

    def put(self, key: str, source: Path | bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".part-{secrets.token_hex(4)}-{path.name}")
        try:
            if isinstance(source, bytes):
                partial.write_bytes(source)
            else:
                shutil.copyfile(source, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            info = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return ObjectInfo(key=key, size=info.st_size, etag=f"{info.st_mtime_ns:x}-{info.st_size:x}",
                          modified=datetime.fromtimestamp(info.st_mtime, UTC))

    def read(self, key: str, start: int = 0, length: int | None = None) -> Chunks:
        try:
            handle = self._path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise MissingObject(key) from None
        handle.seek(start)
        return Chunks(handle, length)

    def download(self, key: str, path: Path) -> None:
        source = self._path(key)
        if not source.is_file():
            raise MissingObject(key)
        partial = path.with_name(f".part-{secrets.token_hex(4)}-{path.name}")
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        check_key(prefix, prefix=True)
        base = self._path(prefix.rpartition("/")[0], prefix=True) if "/" in prefix else self.root
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                key = (Path(folder) / name).relative_to(self.root).as_posix()
                if not name.startswith(".") and key.startswith(prefix):
                    info = self.stat(key)
                    if info is not None:
                        yield info

    def delete_prefix(self, prefix: str) -> int:
        found = list(self.list(prefix))
        if prefix == "" or prefix.endswith("/"):
            # A whole folder: its scratch folders and partial files go too.
            folder = self._path(prefix, prefix=True)
            if folder == self.root:
                for child in list(folder.iterdir()) if folder.exists() else []:
                    _remove(child)
            else:
                shutil.rmtree(folder, ignore_errors=True)
        else:
            for info in found:
                self._path(info.key).unlink(missing_ok=True)
        return len(found)

    def publish(self, prefix: str, folder: Path, last: str) -> bool:
        final = self._path(prefix)
        if (final / last).is_file():  # another render built the same thing meanwhile
            shutil.rmtree(folder, ignore_errors=True)
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(folder, final)
        except OSError as exc:
            # Another disk (EXDEV), or a folder of loose objects already there: copy the
            # files one by one, the last one last.
            if exc.errno not in (errno.EXDEV, errno.ENOTEMPTY, errno.EEXIST):
                raise
            self._put_each(prefix, folder, last)
            shutil.rmtree(folder, ignore_errors=True)
        return True

    def _put_each(self, prefix: str, folder: Path, last: str) -> None:
        files = sorted(p for p in folder.rglob("*")
                       if p.is_file() and is_key(p.relative_to(folder).as_posix()))
        for path in sorted(files, key=lambda p: p.relative_to(folder).as_posix() == last):
            self.put(f"{prefix}/{path.relative_to(folder).as_posix()}", path)

    def presign(self, key: str, expires: int, content_type: str | None = None,
                disposition: str | None = None, cache_control: str | None = None) -> None:
        return None

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.exists() else None


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
