"""Media in any S3-compatible store (AWS S3, Cloudflare R2, MinIO, SeaweedFS), through boto3.

Every key is stored under an optional prefix in one bucket. One PUT is atomic in S3 (an
object appears whole or not at all), so a finished folder becomes visible by uploading its
marker file (the manifest) after every other file. Credentials are the S3_* pair when given,
else boto3's usual chain (AWS_ACCESS_KEY_ID..., a profile, an instance role).

A forked work-horse must not share HTTP connections with its parent: it uses the parent's
boto3 client only if the parent never sent a request with it (a worker's parent never does),
else it makes its own from the parent's session.
"""

from __future__ import annotations

import io
import mimetypes
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webapp.storage.base import Chunks, MissingObject, ObjectInfo, StorageError, check_key, is_key

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
DELETE_BATCH = 1000  # the most DeleteObjects takes at once
TRANSFER = TransferConfig(multipart_threshold=64 * 1024 * 1024, max_concurrency=4)
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Store:
    """The S3 backend."""

    name = "s3"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None):
        self.bucket = bucket
        self.prefix = prefix
        self._session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
            region_name=region)
        self._options = {
            "endpoint_url": endpoint_url,
            "config": Config(
                signature_version="s3v4", connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT, retries={"max_attempts": 3, "mode": "standard"},
                # Path-style URLs for any endpoint of one's own (MinIO, SeaweedFS, R2 take
                # them); AWS itself picks virtual hosts.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                # Checksums only where S3 requires them: stores that mimic S3 differ on the
                # newer default ones.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required"),
        }
        self._lock = threading.Lock()
        # Made now, before any fork: a child adopts it if it never sent a request (no
        # connection to share), else makes its own (150 ms here, the first took 700).
        self._client = self._session.client("s3", **self._options)
        self._client_pid = os.getpid()
        self._used = False

    @property
    def client(self):
        """This process's boto3 client."""
        if self._client_pid != os.getpid():
            with self._lock:
                if self._client_pid != os.getpid():
                    if self._used:
                        self._client = self._session.client("s3", **self._options)
                    self._client_pid = os.getpid()
        self._used = True
        return self._client

    def _key(self, key: str, prefix: bool = False) -> str:
        return self.prefix + check_key(key, prefix=prefix)

    def put(self, key: str, source: Path | bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type or _guess_type(key)}
        with _errors(key):
            if isinstance(source, bytes):
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=source,
                                       **extra)
            else:
                self.client.upload_file(str(source), self.bucket, self._key(key),
                                        ExtraArgs=extra, Config=TRANSFER)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            with _errors(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except MissingObject:
            return None
        return ObjectInfo(key=key, size=head["ContentLength"], etag=head["ETag"].strip('"'),
                          modified=head["LastModified"])

    def read(self, key: str, start: int = 0, length: int | None = None) -> Chunks:
        args = {"Bucket": self.bucket, "Key": self._key(key)}
        if length == 0:
            return Chunks(io.BytesIO(b""), 0)
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            args["Range"] = f"bytes={start}-{end}"
        with _errors(key):
            body = self.client.get_object(**args)["Body"]
        return Chunks(body, length)

    def download(self, key: str, path: Path) -> None:
        partial = path.with_name(f".part-{os.getpid()}-{path.name}")
        try:
            with _errors(key):
                self.client.download_file(self.bucket, self._key(key), str(partial),
                                          Config=TRANSFER)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix, prefix=True))
        with _errors(prefix):
            for page in pages:
                for item in page.get("Contents", []):
                    if not is_key(item["Key"][len(self.prefix):]):
                        continue  # not one of ours (a readiness probe, a folder marker)
                    yield ObjectInfo(key=item["Key"][len(self.prefix):], size=item["Size"],
                                     etag=item["ETag"].strip('"'), modified=item["LastModified"])

    def delete_prefix(self, prefix: str) -> int:
        keys = [self._key(info.key) for info in self.list(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            with _errors(prefix):
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                error = answer["Errors"][0]
                raise StorageError(f"S3 did not delete {error.get('Key')}: "
                                   f"{error.get('Code')} {error.get('Message')}")
        return len(keys)

    def publish(self, prefix: str, folder: Path, last: str) -> bool:
        if self.stat(f"{prefix}/{last}") is not None:  # built meanwhile by another render
            shutil.rmtree(folder, ignore_errors=True)
            return False
        files = sorted(p for p in folder.rglob("*")
                       if p.is_file() and is_key(p.relative_to(folder).as_posix()))
        marker = [p for p in files if p.relative_to(folder).as_posix() == last]
        if not marker:
            raise StorageError(f"{folder} has no {last} to publish last")
        for path in [p for p in files if p not in marker] + marker:
            self.put(f"{prefix}/{path.relative_to(folder).as_posix()}", path)
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def presign(self, key: str, expires: int, content_type: str | None = None,
                disposition: str | None = None, cache_control: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        for name, value in (("ResponseContentType", content_type),
                            ("ResponseContentDisposition", disposition),
                            ("ResponseCacheControl", cache_control)):
            if value:
                params[name] = value
        with _errors(key):
            return self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=expires)

    def local_path(self, key: str) -> None:
        return None


def _guess_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class _errors:
    """Translate boto3's errors: a missing key is MissingObject, anything else StorageError
    (with what S3 said), so callers never see botocore's exception types."""

    def __init__(self, key: str):
        self.key = key

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            if str(error.get("Code")) in _MISSING:
                raise MissingObject(self.key) from None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise StorageError(f"S3 answered {status} {error.get('Code')} for "
                               f"{self.key!r}: {error.get('Message')}") from exc
        if isinstance(exc, BotoCoreError):
            raise StorageError(f"S3 is unreachable ({self.key!r}): {exc}") from exc
        return False
