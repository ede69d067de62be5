"""``python -m regie.schema`` prints the SDL; ``python -m regie.schema --write`` updates schema.graphql."""

from __future__ import annotations

import sys
from pathlib import Path

from regie.schema.schema import schema

SDL_FILE = Path(__file__).with_name("schema.graphql")

if __name__ == "__main__":
    sdl = schema.as_str() + "\n"
    if "--write" in sys.argv:
        SDL_FILE.write_text(sdl, encoding="utf-8")
        print(f"wrote {SDL_FILE}")
    else:
        sys.stdout.write(sdl)
