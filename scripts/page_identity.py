"""Byte-identity check of the page JSON: the guard of every refactor that must not change a page.

Builds the pages of a fixed set of medium-world requests (5 policy/device/selector cases of 320
members each, and 5 cold members) and writes one line per page: its case, member and the SHA-256
of its JSON. ``--compare REF`` reads a file written the same way (e.g. by the commit before a
change) and prints ``DIFFER: k of n`` with the first differing requests; exit 1 when any differ.

    python scripts/page_identity.py --out before.txt          # on the old commit
    python scripts/page_identity.py --compare before.txt      # on the new one

``build`` and ``dump_many`` are also compared on the first 20 members of each case.
Only the public API is used, so the script runs unchanged on any commit.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from pagegen import Engine, UserState, fit, synthetic_world

CASES = (  # policy, device, selector
    ("default", "web", "stage_wise"),
    ("tv", "tv", "row_ranking"),
    ("mobile", "mobile", "template"),
    ("kids", "web", "stage_wise"),
    ("default", "web", "learned"),
)
MEMBERS = 320
COLD = 5


def pages(members: int) -> list[tuple[str, str, bytes]]:
    world = synthetic_world("medium", seed=0)
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    users = [world.interactions.users.id(i) for i in range(min(members, world.interactions.n_users))]
    out: list[tuple[str, str, bytes]] = []
    for policy, device, selector in CASES:
        engine = Engine(world.catalog, model, policy, interactions=world.interactions, profiles=world.profiles, now=world.now)
        case = f"{policy}/{device}/{selector}"
        dumped = engine.dump_many(users[:20], device=device, selector=selector)
        for user, line in zip(users, dumped, strict=False):
            built = engine.build(user, device=device, selector=selector).to_json()
            if built != line:
                sys.exit(f"{case} {user}: build and dump_many differ")
        out.extend((case, user, engine.build(user, device=device, selector=selector).to_json()) for user in users)
    engine = Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now)
    for i in range(COLD):
        cold = UserState.cold(world.now + i, user=f"cold{i}")
        out.append(("default/web/stage_wise", f"cold{i}", engine.build(cold).to_json()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the digests here")
    parser.add_argument("--compare", type=Path, help="compare with the digests in this file")
    parser.add_argument("--members", type=int, default=MEMBERS, help="members per case")
    args = parser.parse_args(argv)
    lines = [f"{case} {user} {hashlib.sha256(blob).hexdigest()}" for case, user, blob in pages(args.members)]
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} page digests to {args.out}")
    if args.compare:
        ref = args.compare.read_text(encoding="utf-8").splitlines()
        differ = [a for a, b in zip(lines, ref, strict=False) if a != b] + lines[len(ref) :] + ref[len(lines) :]
        print(f"DIFFER: {len(differ)} of {max(len(lines), len(ref))}")
        for line in differ[:10]:
            print("  " + line)
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
