"""Where a model may be loaded from: storage URIs normalised, then refused when they lead somewhere unsafe.

A storage URI is fetched inside the cluster by KServe's storage initializer (or engine: deployment's init
container) with the pod's network and credentials. So a URI from a spec or from a registry must not
reach the node's cloud metadata service (instance credentials: 169.254.169.254, `metadata.google.internal`,
AWS's IPv6 `fd00:ec2::254`), any other link-local address, or the container's own files (`file://`), and
its path must not climb with `..`: `s3://models/m/9/../8/model` carries the version segment `9` that the
`storage-uri-version` check looks for while naming version 8's files.

The checks see the URI as a fetcher would: the scheme in lower case, the host without user information,
port, brackets or a trailing dot, numeric IPv4 forms (`2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`)
read as addresses, IPv4-mapped IPv6 addresses as their IPv4 address, and path segments percent-decoded
(`%2e%2e` is `..`) and split on `/` and `\\`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

__all__ = ["storage_uri_problem"]

# Host names of cloud metadata services (GCP; Alibaba's and the others are addresses, below).
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
# Metadata addresses outside the link-local ranges: AWS's IPv6 endpoint and Alibaba Cloud's.
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})
_AUTHORITY = re.compile(r"[^/?#\\]*")
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$")


def _ipv4_number(host: str) -> ipaddress.IPv4Address | None:
    """`host` read as inet_aton(3) reads it (decimal, octal `0251`, hex `0xa9`, 1 to 4 parts), or None."""
    if not _NUMERIC_HOST.match(host):
        return None
    parts = [int(part, 16) if part.startswith("0x") else int(part, 8) if len(part) > 1 and part.startswith("0")
             else int(part) for part in host.split(".")]  # fmt: skip
    *leading, last = parts
    if any(part > 255 for part in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = 0
    for part in leading:
        value = value << 8 | part
    return ipaddress.IPv4Address(value << 8 * (4 - len(leading)) | last)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # an IPv6 zone (`fe80::1%eth0`) is link-local
    except ValueError:
        return _ipv4_number(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _host(authority: str) -> str:
    host = unquote(authority.rpartition("@")[2]).lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def storage_uri_problem(uri: str) -> str | None:
    """Why the storage initializer must not fetch `uri` (None: nothing against it).

    >>> storage_uri_problem("s3://ml-models/fraud/7/model") is None
    True
    >>> storage_uri_problem("s3://ml-models/fraud/9/../8/model")
    "'s3://ml-models/fraud/9/../8/model' has a '..' path segment: a storage URI names its files directly"
    """
    scheme, _, rest = uri.partition("://")
    scheme = scheme.lower()
    if scheme == "file":
        return (
            f"{uri!r} is a file:// URI: it reads the serving pod's own file system, not a model store; "
            "use object storage (s3://, gs://, ...) or pvc://"
        )
    authority = _AUTHORITY.match(rest)
    path = rest[authority.end() :] if authority else rest
    for segment in re.split(r"[/\\]", unquote(path.partition("?")[0].partition("#")[0])):
        if segment in ("..", "."):
            return f"{uri!r} has a {segment!r} path segment: a storage URI names its files directly"
    host = _host(authority.group() if authority else "").rstrip(".")
    if host in _METADATA_NAMES:
        return f"{uri!r} names the cloud metadata service ({host}); a model is never stored there"
    address = _address(host)
    if address is None:
        return None
    if address in _METADATA_ADDRESSES or address == ipaddress.ip_address("169.254.169.254"):
        return f"{uri!r} names the cloud metadata service ({address}); a model is never stored there"
    if address.is_link_local or address.is_unspecified:
        return f"{uri!r} names the link-local address {address} (node services, cloud metadata), not a model store"
    return None
