"""Text for people: descriptions, listings and trees in the order a person reads them."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from .address_description import AddressDescription

NO_TYPES = "unknown (types need metadata: typegen has not run for this program)"


def _size(n: Optional[int]) -> str:
    return "?" if n is None else f"{n} byte{'s' if n != 1 else ''}"


def size_text(n: Optional[int]) -> str:
    """"N bytes" (or "?"), for the fronts' and the commands' text."""
    return _size(n)


def _adj(n: Optional[int]) -> str:
    return "?-byte" if n is None else f"{n}-byte"


def site_text(site: Optional[Dict[str, Any]]) -> Optional[str]:
    if not site:
        return None
    if "pc" in site:  # heap / pool / user mmap
        where = site.get("function") or "??"
        if site.get("file"):
            where += f" at {site['file']}:{site.get('line')}"
        extra = [f"pc {site['pc']}"] if site.get("pc") else []
        if site.get("seq") is not None:
            extra.append(f"seq {site['seq']}")
        text = f"{where} ({', '.join(extra)})" if extra else where
        via = site.get("via")
        if via:  # the C++ standard library's frame that made the allocation for that call
            text += f", via {via.get('function') or '??'}"
            if via.get("file"):
                text += f" at {via['file']}:{via.get('line')}"
        return text
    if "frame" in site:  # stack
        text = f"frame #{site.get('frame')} {site.get('function') or '??'}"
        if site.get("file"):
            text += f" at {site['file']}:{site.get('line')}"
        if site.get("thread") is not None:
            text += f", thread {site['thread']}"
        if site.get("variable"):
            text = f"local '{site['variable']}' in " + text
        return text
    parts = []
    if site.get("symbol"):
        parts.append(site["symbol"])
    if site.get("section"):
        parts.append(f"in {site['section']}")
    if site.get("object"):
        parts.append(f"of {site['object']}")
    return " ".join(parts) if parts else None


def chain_lines(d: AddressDescription, indent: str = "") -> List[str]:
    out = []
    for depth, lv in enumerate(d.chain):
        name = f"  {lv.name}" if lv.name else ""
        out.append(f"{indent}{'  ' * depth}{lv.allocator} {lv.base:#x}-{lv.base + lv.size:#x} "
                   f"({_size(lv.size)}){name}")
    return out


def headline(d: AddressDescription) -> str:
    if d.allocator is None or d.base is None:
        return f"{d.address:#x}: nothing known"
    state = "" if d.state == "live" else f"{d.state} "
    return (f"{d.address:#x} is {_size(d.offset)} into a {state}{_adj(d.size)} {d.allocator} "
            f"allocation at {d.base:#x}")


def info_text(d: AddressDescription) -> str:
    lines = [f"address    {d.address:#x}"]
    chain = chain_lines(d, " " * 11)
    if chain:
        lines.append("chain      " + chain[0].lstrip())
        lines.extend(chain[1:])
    if d.allocator is not None:
        lines.append(f"allocator  {d.allocator} ({d.state})")
        if d.base is not None:
            lines.append(f"base       {d.base:#x}")
        lines.append(f"size       {_size(d.size)}")
        if d.offset is not None:
            lines.append(f"offset     {d.offset}")
        lines.append(f"type       {whatis_text(d, short=True)}")
        if d.path:
            lines.append(f"path       {d.path} ({d.path_type or '?'})")
        site = site_text(d.site)
        if site:
            lines.append(f"{'site' if d.site and 'pc' in d.site else 'what':<10} {site}")
    else:
        lines.append(f"state      {d.state}")
    lines.extend(f"note       {n}" for n in d.notes)
    return "\n".join(lines)


def whatis_text(d: AddressDescription, short: bool = False) -> str:
    if d.type is None:
        why = d.type_why or NO_TYPES
        return why if short else f"{headline(d)}\ntype: {why}"
    text = d.type + (f", at {d.path} ({d.path_type})" if d.path else "")
    return text if short else f"{headline(d)}\ntype: {text}"


def whereis_text(d: AddressDescription) -> str:
    lines = [headline(d)] + chain_lines(d, "  ")
    lines.extend(f"note: {n}" for n in d.notes)
    return "\n".join(lines)


def whyis_text(d: AddressDescription) -> str:
    site = site_text(d.site)
    if site is None:
        why = "no allocation site is known"
    elif d.site and "pc" in d.site:
        why = f"allocated by {site}"
    else:
        why = site
    lines = [headline(d), why]
    lines.extend(f"note: {n}" for n in d.notes)
    return "\n".join(lines)


def hexdump(addr: int, data: bytes, width: int = 16) -> List[str]:
    out = []
    for i in range(0, len(data), width):
        row = data[i:i + width]
        text = "".join(chr(c) if 32 <= c < 127 else "." for c in row)
        out.append(f"  {addr + i:#x}: {row.hex(' '):<{width * 3}} {text}")
    return out


def _runtime_note(own: Optional[Dict[str, Any]]) -> str:
    """'  [allocs runtime: what it holds]' for the runtime's own mappings and levels."""
    if not own:
        return ""
    what = "library" if own["part"] == "library" else "reserved"
    holds = ", ".join(own["holds"])
    return f"  [allocs runtime {what}{': ' + holds if holds else ''}]"


def maps_lines(nodes: List[Dict[str, Any]], depth: int = 0) -> List[str]:
    out = []
    for n in nodes:
        base = int(n["base"], 16)
        name = f"  {n['name']}" if n.get("name") else ""
        out.append(f"{'  ' * depth}{n['allocator']:<12} {base:#x}-{base + n['size']:#x} {n['flags']:<5}"
                   f" {_size(n['size']):>16}{name}{_runtime_note(n.get('runtime'))}")
        out.extend(maps_lines(n["children"], depth + 1))
    return out
