"""A plausible serial console for a sandbox server: kernel and cloud-init lines of its current boot, with its name,
addresses, image and key fingerprint, appearing as the (sped-up) boot goes on, then a few timer lines an hour.

Nothing is stored: the log is a pure function of the server and the time since it booted, so it grows by itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass

CLOUD_INIT = "24.3.1"
MAX_TIMER_LINES = 500  # the hourly lines after boot stop growing after ~3 weeks (a real log rotates too)


@dataclass(frozen=True)
class BootFacts:
    server_id: str
    name: str
    image_name: str
    os_distro: str
    kernel: str
    login_user: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    addresses: tuple[tuple[str, str, int], ...]  # (ip, mac, prefix length)
    key_fingerprint: str
    booted_at: dt.datetime
    speed: float


def hostname(name: str) -> str:
    host = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
    return host or "server"


def _host_key(server_id: str, kind: str) -> str:
    digest = hashlib.sha256(f"{server_id}:{kind}".encode()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def _linux(facts: BootFacts) -> list[tuple[float, str]]:
    host = hostname(facts.name)
    ram_k = facts.ram_mb * 1024
    lines: list[tuple[float, str]] = [
        (0.0, f"[    0.000000] Linux version {facts.kernel} (buildd@lcy02-amd64-080) #45-Ubuntu SMP PREEMPT_DYNAMIC"),
        (
            0.0,
            f"[    0.000000] Command line: BOOT_IMAGE=/vmlinuz-{facts.kernel} root=LABEL=cloudimg-rootfs ro "
            "console=tty1 console=ttyS0",
        ),
        (0.0, "[    0.000000] DMI: OpenStack Foundation OpenStack Nova, BIOS 1.16.3-debian-1.16.3-2 04/01/2014"),
        (0.1, "[    0.052114] Hypervisor detected: KVM"),
        (0.3, f"[    0.312907] Memory: {ram_k - 183_412}K/{ram_k}K available"),
        (0.4, f"[    0.401228] smpboot: Allowing {facts.vcpus} CPUs, 0 hotplug CPUs"),
        (
            1.2,
            f"[    1.204117] virtio_blk virtio2: [vda] {facts.disk_gb * 2_097_152} 512-byte logical blocks "
            f"({facts.disk_gb * 1.073741824:.1f} GB/{facts.disk_gb} GiB)",
        ),
        (1.9, "[    1.913552] EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none."),
        (3.1, "[    3.101843] systemd[1]: Inserted module 'autofs4'"),
        (3.2, f"[    3.200415] systemd[1]: Hostname set to <{host}>."),
        (4.4, "[  OK  ] Reached target network-pre.target - Preparation for Network."),
        (
            5.8,
            f"[    5.804221] cloud-init[512]: Cloud-init v. {CLOUD_INIT} running 'init-local' at {{at}}. "
            "Up 5.80 seconds.",
        ),
        (6.9, f"[    6.912760] cloud-init[601]: Cloud-init v. {CLOUD_INIT} running 'init' at {{at}}. Up 6.91 seconds."),
        (
            6.9,
            "[    6.913010] cloud-init[601]: ci-info: ++++++++++++++++++++++++Net device info+++++++++++++++++++++++",
        ),
        (
            6.9,
            "[    6.913102] cloud-init[601]: ci-info: | Device |  Up  |   Address    | Mask | Scope  |"
            "     Hw-Address    |",
        ),
    ]
    for index, (ip, mac, prefix) in enumerate(facts.addresses):
        lines.append(
            (
                6.9,
                f"[    6.9132{index:02d}] cloud-init[601]: ci-info: |  ens{3 + index}  | True | {ip} | /{prefix} "
                f"| global | {mac} |",
            )
        )
    lines.append(
        (6.9, "[    6.913400] cloud-init[601]: ci-info: | lo     | True | 127.0.0.1    | /8   | host   | .   |")
    )
    if facts.key_fingerprint:
        lines += [
            (
                8.2,
                f"[    8.204511] cloud-init[601]: ci-info: ++++Authorized keys from /home/{facts.login_user}/.ssh/"
                f"authorized_keys for user {facts.login_user}++++",
            ),
            (8.2, "[    8.204600] cloud-init[601]: ci-info: | Keytype | Fingerprint (md5) | Options | Comment |"),
            (8.2, f"[    8.204688] cloud-init[601]: ci-info: | ssh-ed25519 | {facts.key_fingerprint} | - | - |"),
        ]
    lines += [
        (9.0, "-----BEGIN SSH HOST KEY FINGERPRINTS-----"),
        (9.0, f"256 SHA256:{_host_key(facts.server_id, 'ecdsa')} root@{host} (ECDSA)"),
        (9.0, f"256 SHA256:{_host_key(facts.server_id, 'ed25519')} root@{host} (ED25519)"),
        (9.0, f"3072 SHA256:{_host_key(facts.server_id, 'rsa')} root@{host} (RSA)"),
        (9.0, "-----END SSH HOST KEY FINGERPRINTS-----"),
        (
            11.4,
            f"[   11.402113] cloud-init[702]: Cloud-init v. {CLOUD_INIT} running 'modules:config' at {{at}}. "
            "Up 11.40 seconds.",
        ),
        (
            14.2,
            f"[   14.210457] cloud-init[815]: Cloud-init v. {CLOUD_INIT} finished at {{at}}. Datasource "
            "DataSourceOpenStackLocal [net,ver=2]. Up 14.21 seconds",
        ),
        (14.3, ""),
        (14.3, f"{facts.image_name} {host} ttyS0"),
        (14.3, ""),
        (14.3, f"{host} login: "),
    ]
    return lines


def _windows(facts: BootFacts) -> list[tuple[float, str]]:
    host = hostname(facts.name).upper()[:15]
    lines = [
        (2.0, "cloudbase-init: Cloudbase-Init Service starting"),
        (9.0, "cloudbase-init: Metadata service loaded: 'HttpService'"),
        (9.5, f"cloudbase-init: Setting host name: {host}"),
    ]
    lines += [
        (10.0, f"cloudbase-init: Address {ip} configured on adapter with MAC {mac}") for ip, mac, _p in facts.addresses
    ]
    lines += [
        (24.0, f"cloudbase-init: Setting password for user {facts.login_user}"),
        (31.0, "cloudbase-init: Plugins execution done"),
        (31.5, f"{facts.image_name} {host} ready"),
    ]
    return lines


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def render(facts: BootFacts, now: dt.datetime, *, lines: int) -> str:
    """The last `lines` lines of the current boot's console as of `now`."""
    if lines <= 0 or now < facts.booted_at:
        return ""
    speed = facts.speed if facts.speed > 0 else 1.0
    elapsed = (now - facts.booted_at).total_seconds() * speed  # seconds as the (sped-up) machine lived them
    entries = _windows(facts) if facts.os_distro == "windows" else _linux(facts)
    shown = [
        text.replace("{at}", _stamp(facts.booted_at + dt.timedelta(seconds=offset / speed)))
        for offset, text in entries
        if offset <= elapsed
    ]
    if facts.os_distro != "windows":
        hours = min(int(elapsed // 3600), MAX_TIMER_LINES)
        for hour in range(1, hours + 1):
            uptime = hour * 3600 + 17.3
            at = facts.booted_at + dt.timedelta(seconds=uptime / speed)
            shown.append(
                f"[{uptime:12.6f}] systemd[1]: Starting sysstat-collect.service - system activity accounting "
                f"tool... ({at:%Y-%m-%dT%H:%M:%SZ})"
            )
    return "\n".join(shown[-lines:]) + ("\n" if shown else "")
