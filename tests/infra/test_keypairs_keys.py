"""Public key validation, fingerprints and generation (infra.keys), checked against the real ssh-keygen."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

from infra import keys

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is not installed")


def ssh_keygen(tmp_path: Path, key_type: str, bits: int | None = None, comment: str = "me@laptop") -> Path:
    """A key pair made by ssh-keygen; returns the .pub file."""
    path = tmp_path / f"id_{key_type}_{bits or 0}"
    command = [SSH_KEYGEN, "-q", "-t", key_type, "-N", "", "-C", comment, "-f", str(path)]
    if bits:
        command += ["-b", str(bits)]
    subprocess.run(command, check=True)
    return path.with_suffix(".pub")


def keygen_fingerprint(pub: Path) -> tuple[int, str]:
    bits, fingerprint, *_rest = subprocess.run(
        [SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(pub)], check=True, capture_output=True, text=True
    ).stdout.split()
    return int(bits), fingerprint


def ssh_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def refused(text: str) -> str:
    with pytest.raises(keys.InvalidKey) as caught:
        keys.parse_public_key(text)
    return caught.value.message


@needs_ssh_keygen
@pytest.mark.parametrize(
    ("key_type", "bits", "expected_type"),
    [
        ("ed25519", None, "ssh-ed25519"),
        ("rsa", 2048, "ssh-rsa"),
        ("rsa", 4096, "ssh-rsa"),
        ("ecdsa", 256, "ecdsa-sha2-nistp256"),
        ("ecdsa", 384, "ecdsa-sha2-nistp384"),
        ("ecdsa", 521, "ecdsa-sha2-nistp521"),
    ],
)
def test_keys_made_by_ssh_keygen_are_accepted_with_its_fingerprint_and_bits(tmp_path, key_type, bits, expected_type):
    pub = ssh_keygen(tmp_path, key_type, bits)
    key = keys.parse_public_key(pub.read_text())
    assert key.key_type == expected_type
    assert (key.bits, key.fingerprint) == keygen_fingerprint(pub)
    assert key.comment == "me@laptop"
    assert key.openssh == pub.read_text().strip()


@needs_ssh_keygen
def test_the_rfc4716_form_is_converted_to_the_openssh_line(tmp_path):
    pub = ssh_keygen(tmp_path, "ed25519")
    exported = subprocess.run(
        [SSH_KEYGEN, "-e", "-m", "RFC4716", "-f", str(pub)], check=True, capture_output=True, text=True
    ).stdout
    assert exported.startswith("---- BEGIN SSH2 PUBLIC KEY ----")
    key = keys.parse_public_key(exported)
    openssh_type, openssh_body = pub.read_text().split()[:2]
    assert key.openssh.split()[:2] == [openssh_type, openssh_body]
    assert key.fingerprint == keygen_fingerprint(pub)[1]
    assert key.comment  # the block's Comment header


def test_an_rfc4716_block_with_a_continued_header_keeps_its_comment():
    public, _private = keys.generate(keys.ED25519)
    body = base64.b64encode(public.blob).decode()
    block = (
        "---- BEGIN SSH2 PUBLIC KEY ----\n"
        'Comment: "a long \\\ncomment"\n'
        "x-Tool: something\n"
        f"{body[:40]}\n{body[40:]}\n"
        "---- END SSH2 PUBLIC KEY ----\n"
    )
    key = keys.parse_public_key(block)
    assert key.comment == "a long comment"
    assert key.fingerprint == public.fingerprint


@needs_ssh_keygen
def test_generated_key_pairs_are_real_openssh_key_pairs(tmp_path):
    for key_type, bits in ((keys.ED25519, 256), (keys.RSA, 4096)):
        public, private_key = keys.generate(key_type, comment="made-here")
        assert private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        path = tmp_path / f"generated_{bits}"
        path.write_text(private_key)
        path.chmod(0o600)
        derived = subprocess.run(
            [SSH_KEYGEN, "-y", "-f", str(path)], check=True, capture_output=True, text=True
        ).stdout.split()
        assert derived[:2] == public.openssh.split()[:2]
        assert (public.key_type, public.bits, public.comment) == (key_type, bits, "made-here")
        (tmp_path / "generated.pub").write_text(public.openssh + "\n")
        assert keygen_fingerprint(tmp_path / "generated.pub") == (bits, public.fingerprint)


def test_a_pasted_private_key_is_refused_with_a_message_that_asks_for_the_pub_file():
    _public, private_key = keys.generate(keys.ED25519)
    message = refused(private_key)
    assert "private key" in message and ".pub" in message
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    assert ".pub" in refused(pem)


@pytest.mark.filterwarnings("ignore:SSH DSA key support is deprecated")
def test_dsa_keys_are_refused_with_the_reason():
    private = dsa.generate_private_key(key_size=1024)  # noqa: S505 (a weak key, to be refused)
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    message = refused(line.decode())
    assert "DSA" in message and "Ed25519" in message


def test_rsa_keys_outside_2048_to_16384_bits_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    line = small.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert "1024" in refused(line) and "2048" in refused(line)
    # A key longer than 16384 bits, built by hand (making a real one takes minutes): n of 16392 bits.
    n = (1 << 16391) | 1
    blob = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(b"\x00" + n.to_bytes(2049, "big"))
    assert "16384" in refused("ssh-rsa " + base64.b64encode(blob).decode())


def test_the_blobs_own_type_must_match_the_prefix():
    public, _private = keys.generate(keys.ED25519)
    body = base64.b64encode(public.blob).decode()
    message = refused(f"ssh-rsa {body} me")
    assert "ssh-rsa" in message and "ssh-ed25519" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Paste a public key"),
        ("ssh-ed25519", "type, then the key"),
        ("ssh-foo AAAA", "Unknown key type"),
        ("ssh-ed25519 not*base64", "base64"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "cut short"),
        ("sk-ssh-ed25519@openssh.com AAAA", "Security-key"),
        ("ssh-ed25519-cert-v01@openssh.com AAAA", "certificate"),
        ("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "PEM"),
    ],
)
def test_malformed_keys_are_refused_with_a_reason(text, expected):
    assert expected in refused(text)


def test_an_ed25519_key_of_the_wrong_length_or_with_extra_data_is_refused():
    short = ssh_string(b"ssh-ed25519") + ssh_string(b"\x01" * 31)
    assert "32 bytes" in refused("ssh-ed25519 " + base64.b64encode(short).decode())
    extra = ssh_string(b"ssh-ed25519") + ssh_string(b"\x01" * 32) + b"\x00"
    assert "extra data" in refused("ssh-ed25519 " + base64.b64encode(extra).decode())


def test_an_ecdsa_point_off_its_curve_is_refused():
    point = b"\x04" + b"\x01" * 64
    blob = ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(b"nistp256") + ssh_string(point)
    assert "not valid" in refused("ecdsa-sha2-nistp256 " + base64.b64encode(blob).decode())


def test_comments_are_at_most_255_printable_characters():
    public, _private = keys.generate(keys.ED25519)
    line = public.openssh
    assert keys.parse_public_key(f"{line} {'c' * 255}").comment == "c" * 255
    assert keys.parse_public_key(f"{line} 키 주인 at 노트북").comment == "키 주인 at 노트북"
    assert "too long" in refused(f"{line} {'c' * 256}")
    assert "control characters" in refused(f"{line} bad\x07bell")


def test_one_key_on_one_line_and_at_most_16_kib():
    public, _private = keys.generate(keys.ED25519)
    assert "one line" in refused(f"{public.openssh}\n{public.openssh}")
    assert "16 KiB" in refused(f"{public.openssh} " + "x" * (16 * 1024))
    # surrounding blank space and a trailing newline, as pasted from a terminal, are fine
    assert keys.parse_public_key(f"\n  {public.openssh}\n").fingerprint == public.fingerprint
