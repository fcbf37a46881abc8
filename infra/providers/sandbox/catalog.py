"""What a new sandbox region offers: a realistic catalogue of flavors and images, seeded into each region's own rows
the first time the region is used (ids are made per region, as two real clouds would have different ids)."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class FlavorSeed:
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int


@dataclass(frozen=True)
class ImageSeed:
    name: str
    size_bytes: int
    min_disk_gb: int
    min_ram_mb: int
    os_distro: str
    os_version: str
    login_user: str
    kernel: str  # what the console log's first line names


FLAVORS = (
    FlavorSeed("g1.nano", 1, 512, 10),
    FlavorSeed("g1.micro", 1, 1024, 10),
    FlavorSeed("g1.small", 1, 2048, 20),
    FlavorSeed("g1.medium", 2, 4096, 40),
    FlavorSeed("g1.large", 4, 8192, 80),
    FlavorSeed("g1.xlarge", 8, 16384, 160),
    FlavorSeed("c1.large", 4, 8192, 40),
    FlavorSeed("c1.xlarge", 8, 16384, 80),
    FlavorSeed("m1.large", 4, 32768, 80),
    FlavorSeed("m1.xlarge", 8, 65536, 160),
)

IMAGES = (
    ImageSeed("Ubuntu 24.04 LTS", 598 * MIB, 10, 512, "ubuntu", "24.04", "ubuntu", "6.8.0-45-generic"),
    ImageSeed("Ubuntu 22.04 LTS", 653 * MIB, 10, 512, "ubuntu", "22.04", "ubuntu", "5.15.0-122-generic"),
    ImageSeed("Debian 12", 402 * MIB, 5, 512, "debian", "12", "debian", "6.1.0-26-cloud-amd64"),
    ImageSeed("Rocky Linux 9", 1_124 * MIB, 10, 1024, "rocky", "9.4", "rocky", "5.14.0-427.13.1.el9_4.x86_64"),
    ImageSeed("Windows Server 2022", 9 * GIB + 812 * MIB, 40, 4096, "windows", "2022", "Administrator", ""),
)
