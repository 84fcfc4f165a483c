"""Pure wallet rules: no I/O, and no import of aiohttp, aiosqlite, asyncpg or the stores."""
