"""Write static/console/icons.svg: the Tabler Icons the console uses, cut from the full sprite.

Usage: python tools/build_icons.py PATH/TO/tabler-sprite.svg
(get it with `npm pack @tabler/icons-sprite` and unpack; the full sprite is 2 MB, ours a few KB.)
Icons are found in templates (`{% icon "name" %}`, `icon="name"`) and in console/navigation.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `{% icon "name" %}`, or `icon="name"` handed to an include such as console/_empty_state.html.
TEMPLATE_USE = re.compile(r"""(?:{%\s*icon\s+|\bicon=)["']([a-z0-9-]+)["']""")


def used_icons(root: Path = ROOT) -> set[str]:
    names: set[str] = set()
    for path in list((root / "templates").rglob("*.html")) + [
        p for app in ("console", "tenants", "infra", "billing", "monitoring") for p in (root / app).rglob("*.html")
    ]:
        names.update(TEMPLATE_USE.findall(path.read_text(encoding="utf-8")))
    names.update(_navigation_icons())
    return names


def _navigation_icons() -> set[str]:
    sys.path.insert(0, str(ROOT))
    from console.navigation import MENU

    icons = set()
    for section in MENU:
        icons.add(section.icon)
        icons.update(item.icon for item in section.items)
    return icons


def main(sprite_path: str) -> None:
    sprite = Path(sprite_path).read_text(encoding="utf-8")
    symbols = dict(re.findall(r'(<symbol id="tabler-([a-z0-9-]+)".*?</symbol>)', sprite, re.DOTALL))
    by_name = {name: symbol for symbol, name in symbols.items()}
    wanted = sorted(used_icons())
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise SystemExit(f"not in the sprite: {', '.join(missing)}")
    body = "".join(by_name[name] for name in wanted)
    out = ROOT / "static" / "console" / "icons.svg"
    out.write_text(f'<svg xmlns="http://www.w3.org/2000/svg"><defs>{body}</defs></svg>\n', encoding="utf-8")
    print(f"{out.relative_to(ROOT)}: {len(wanted)} icons, {out.stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
