"""`--blocks s3://BUCKET/PREFIX?endpoint=URL&region=NAME`: parsed and checked without
touching the network, so `roost serve --print-config` can refuse a bad one."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

# S3's bucket naming rules (lowercase letters, digits, dots and hyphens, 3-63 characters).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OPTIONS = ("endpoint", "region")
FORM = "s3://BUCKET/PREFIX?endpoint=https://HOST:PORT&region=NAME (prefix, region optional)"


class BadLocation(ValueError):
    """A --blocks URL that cannot be used; the message says what to write."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or a path without leading/trailing slashes
    endpoint: str | None  # None: AWS's own, from the region
    region: str

    def describe(self) -> str:
        """For a person and for logs: never a credential (there is none in the URL)."""
        where = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        return where + (f" at {self.endpoint}" if self.endpoint else f" in {self.region}")


def parse_s3_url(url: str, env: Mapping[str, str] | None = None) -> S3Location:
    """The location a --blocks URL names; the endpoint and region fall back to AWS_ENDPOINT_URL
    and AWS_REGION / AWS_DEFAULT_REGION (then us-east-1). BadLocation says what is wrong."""
    env = os.environ if env is None else env
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 host
        raise BadLocation(f"{url!r}: {exc}; write {FORM}") from None
    if parts.scheme != "s3":
        raise BadLocation(f"{url!r}: write {FORM}")
    if parts.username is not None or parts.password is not None:
        raise BadLocation(
            "put no credentials in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    bucket = parts.netloc
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise BadLocation(
            f"{bucket!r} is not a bucket name (3-63 lowercase letters, digits, dots, hyphens):"
            f" write {FORM}"
        )
    prefix = parts.path.removeprefix("/").removesuffix("/")
    if prefix and any(p in ("", ".", "..") for p in prefix.split("/")):
        raise BadLocation(f"prefix {prefix!r}: write folder names separated by single slashes")
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _OPTIONS:
            raise BadLocation(f"unknown option {key!r} in {url!r}: only endpoint= and region=")
        if key in options:
            raise BadLocation(f"{key}= given twice in {url!r}")
        options[key] = value
    endpoint = options.get("endpoint") or env.get("AWS_ENDPOINT_URL") or None
    if endpoint is not None:
        endpoint = endpoint.rstrip("/")
        try:
            e = urlsplit(endpoint)
        except ValueError:
            raise BadLocation(f"endpoint {endpoint!r}: write https://HOST:PORT") from None
        if e.scheme not in ("http", "https") or not e.hostname or e.path or e.query:
            raise BadLocation(f"endpoint {endpoint!r}: write https://HOST:PORT (or http://)")
        try:
            e.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            raise BadLocation(f"endpoint {endpoint!r}: the port is not a number 0-65535") from None
    region = (
        options.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    ) or "us-east-1"
    if not re.fullmatch(r"[a-z0-9-]{1,32}", region):
        raise BadLocation(f"region {region!r}: write a region name such as us-east-1")
    return S3Location(bucket, prefix, endpoint, region)
