"""The bare benchmark job, in its own module so RQ can import it by name."""


def echo(message: str) -> dict:
    """What trigger-test does, minus Cutroom's tracking."""
    return {"message": message}
