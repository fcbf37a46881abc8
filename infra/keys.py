"""SSH public keys: parse and validate what a person pastes, fingerprint it as OpenSSH does, and generate a key pair.

Accepted: one OpenSSH public key line `type base64 [comment]` of type `ssh-ed25519`, `ssh-rsa` (2048 to 16384 bits)
or `ecdsa-sha2-nistp256/384/521`, and the same keys in the RFC 4716 form ("---- BEGIN SSH2 PUBLIC KEY ----", as
PuTTYgen exports them), which is converted to the OpenSSH line. The blob's own type must match the line's prefix;
the comment is at most 255 printable characters; the whole text at most 16 KiB. A pasted private key and DSA keys
are refused with a message that says what to do instead.

The fingerprint is `ssh-keygen -l -E sha256`'s: "SHA256:" and the unpadded base64 of the blob's SHA-256.

`generate(key_type)` makes a new key pair and returns the private key in OpenSSH's format. The caller offers it once
and keeps only the public half: the private key is never stored anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.utils.translation import gettext as _

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
ECDSA = {"ecdsa-sha2-nistp256": 256, "ecdsa-sha2-nistp384": 384, "ecdsa-sha2-nistp521": 521}
KEY_TYPES = (ED25519, RSA, *ECDSA)
RSA_MIN_BITS = 2048
RSA_MAX_BITS = 16384
RSA_GENERATED_BITS = 4096
MAX_KEY_BYTES = 16 * 1024
MAX_COMMENT_CHARS = 255
GENERATE_TYPES = (ED25519, RSA)  # what the console generates: Ed25519 (the default) or RSA 4096

_RFC4716_BEGIN = "---- BEGIN SSH2 PUBLIC KEY ----"
_RFC4716_END = "---- END SSH2 PUBLIC KEY ----"
_RFC4716_HEADER = re.compile(r"^([\x21-\x39\x3b-\x7e]{1,64}):\s?(.*)$")
_PRIVATE_MARKERS = ("PRIVATE KEY-----", "PuTTY-User-Key-File")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


class InvalidKey(ValueError):
    """The text is not an acceptable public key; `message` says why, for the person who pasted it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    blob: bytes  # the key's wire form (what the base64 part decodes to)
    bits: int
    comment: str = ""

    @property
    def openssh(self) -> str:
        """The one-line OpenSSH form (as in ~/.ssh/id_*.pub and authorized_keys)."""
        line = f"{self.key_type} {base64.b64encode(self.blob).decode()}"
        return f"{line} {self.comment}" if self.comment else line

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.blob)


def fingerprint(blob: bytes) -> str:
    """`ssh-keygen -l -E sha256`'s fingerprint of a key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


# --- parsing -------------------------------------------------------------------------------------------------------


def parse_public_key(text: str) -> PublicKey:
    """The public key in `text` (OpenSSH line or RFC 4716 block), validated; raises InvalidKey."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(_("The key is too long: a public key is at most 16 KiB."))
    text = text.strip().lstrip("\ufeff")
    if not text:
        raise InvalidKey(_("Paste a public key."))
    if any(marker in text for marker in _PRIVATE_MARKERS):
        raise InvalidKey(
            _(
                "This is a private key: never share it. Paste the public key instead, the contents of the file "
                "that ends in .pub (e.g. ~/.ssh/id_ed25519.pub)."
            )
        )
    if text.startswith(_RFC4716_BEGIN):
        key_type, blob, comment = _from_rfc4716(text)
    elif text.startswith("-----BEGIN"):
        raise InvalidKey(
            _("This is a PEM key, not an SSH public key. Paste the OpenSSH public key (the .pub file) instead.")
        )
    else:
        key_type, blob, comment = _from_openssh_line(text)
    return _validated(key_type, blob, comment)


def _from_openssh_line(text: str) -> tuple[str, bytes, str]:
    if "\n" in text or "\r" in text:
        raise InvalidKey(_("Paste one key on one line: type, key and an optional comment."))
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InvalidKey(_("A public key has a type, then the key itself, e.g. “ssh-ed25519 AAAAC3Nz… me@laptop”."))
    key_type, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else ""
    _check_type(key_type)
    return key_type, _decode(encoded), comment


def _from_rfc4716(text: str) -> tuple[str, bytes, str]:
    lines = [line.strip() for line in text.splitlines()]
    try:
        end = lines.index(_RFC4716_END)
    except ValueError:
        raise InvalidKey(_("The key has no “---- END SSH2 PUBLIC KEY ----” line.")) from None
    if any(lines[end + 1 :]):
        raise InvalidKey(_("Paste one key only."))
    body, comment, index = [], "", 1
    while index < end:  # headers first ("Name: value", a line ending in "\" continues on the next one)
        line = lines[index]
        if ":" not in line or not _RFC4716_HEADER.match(line):
            break
        while line.endswith("\\") and index + 1 < end:
            index += 1
            line = line[:-1] + lines[index]
        name, value = _RFC4716_HEADER.match(line).groups()  # type: ignore[union-attr]
        if name.lower() == "comment":
            comment = value.strip().strip('"')
        index += 1
    body = [line for line in lines[index:end] if line]
    blob = _decode("".join(body))
    return _read_string(blob, 0)[0].decode("ascii", "replace"), blob, comment


def _check_type(key_type: str) -> None:
    if key_type == "ssh-dss":
        raise InvalidKey(
            _(
                "DSA keys (ssh-dss) are refused: they are weak, and OpenSSH no longer accepts them. Use an Ed25519 "
                "key (ssh-keygen -t ed25519)."
            )
        )
    if key_type.startswith("sk-"):
        raise InvalidKey(
            _("Security-key (FIDO) keys are not supported by the cloud. Use an Ed25519, RSA or ECDSA key.")
        )
    if key_type.endswith("-cert-v01@openssh.com"):
        raise InvalidKey(_("This is an SSH certificate. Paste the plain public key instead."))
    if key_type not in KEY_TYPES:
        raise InvalidKey(
            _("Unknown key type “%(type)s”. Accepted: ssh-ed25519, ssh-rsa and ecdsa-sha2-nistp256/384/521.")
            % {"type": key_type[:40]}
        )


def _decode(encoded: str) -> bytes:
    if not _BASE64.match(encoded):
        raise InvalidKey(_("The key is not valid: its key part is not base64."))
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKey(_("The key is not valid: its key part is not base64.")) from None


def _read_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise InvalidKey(_("The key is not valid: it is cut short."))
    (length,) = struct.unpack(">I", blob[offset : offset + 4])
    start, end = offset + 4, offset + 4 + length
    if end > len(blob):
        raise InvalidKey(_("The key is not valid: it is cut short."))
    return blob[start:end], end


def _fields(blob: bytes, count: int) -> list[bytes]:
    """The blob's strings after its type: exactly `count` of them, nothing left over."""
    values, offset = [], len(_read_string(blob, 0)[0]) + 4
    for _i in range(count):
        value, offset = _read_string(blob, offset)
        values.append(value)
    if offset != len(blob):
        raise InvalidKey(_("The key is not valid: it has extra data."))
    return values


def _validated(key_type: str, blob: bytes, comment: str) -> PublicKey:
    inner = _read_string(blob, 0)[0].decode("ascii", "replace")
    if inner == "ssh-dss" or key_type == "ssh-dss":
        _check_type("ssh-dss")
    _check_type(key_type)
    if inner != key_type:
        raise InvalidKey(
            _("The key says it is %(prefix)s but its data is a %(inner)s key: it was altered or mixed up.")
            % {"prefix": key_type, "inner": inner[:40]}
        )
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidKey(_("The comment is too long: at most %(max)s characters.") % {"max": MAX_COMMENT_CHARS})
    if comment and not comment.isprintable():
        raise InvalidKey(_("The comment has characters that cannot be printed (control characters)."))
    if key_type == ED25519:
        (point,) = _fields(blob, 1)
        if len(point) != 32:
            raise InvalidKey(_("The key is not valid: an Ed25519 key is 32 bytes."))
    elif key_type == RSA:
        _fields(blob, 2)
    else:
        curve, _point = _fields(blob, 2)
        if curve.decode("ascii", "replace") != key_type.rsplit("-", 1)[-1]:
            raise InvalidKey(_("The key is not valid: its curve does not match its type."))
    line = f"{key_type} {base64.b64encode(blob).decode()}"
    try:
        key = serialization.load_ssh_public_key(line.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidKey(
            _("The key is not valid: its numbers do not make a %(type)s key.") % {"type": key_type}
        ) from None
    if isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
        if bits < RSA_MIN_BITS:
            raise InvalidKey(
                _("This RSA key has %(bits)s bits: too weak. Use at least %(min)s bits, or an Ed25519 key.")
                % {"bits": bits, "min": RSA_MIN_BITS}
            )
        if bits > RSA_MAX_BITS:
            raise InvalidKey(
                _("This RSA key has %(bits)s bits: at most %(max)s are accepted.") % {"bits": bits, "max": RSA_MAX_BITS}
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
    else:
        bits = 256
    return PublicKey(key_type=key_type, blob=blob, bits=bits, comment=comment)


# --- generating ----------------------------------------------------------------------------------------------------


def generate(key_type: str = ED25519, *, comment: str = "") -> tuple[PublicKey, str]:
    """A new key pair: (its public key, the private key in OpenSSH's format, unencrypted). Ed25519 or RSA 4096."""
    private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if key_type == ED25519:
        private = ed25519.Ed25519PrivateKey.generate()
    elif key_type == RSA:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_GENERATED_BITS)
    else:
        raise InvalidKey(_("The console generates Ed25519 or RSA keys only."))
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(line.split()[1])
    public = _validated(key_type, blob, comment)
    return public, pem


def private_key_body(private_key: str) -> str:
    """The base64 body of a PEM private key (one string, without its armour lines): what a leak check looks for."""
    return "".join(line for line in private_key.strip().splitlines() if not line.startswith("-----"))
