"""``groove-wallet hub88 set|show`` and ``hub88-sign``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from groove_adapter.hub88 import signature
from groove_adapter.jsonout import loads
from tests.hub88_helpers import SIGNER
from tests.test_cli import CLI, ROOT, clean_env, run


def test_hub88_set_show_and_sign(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    public = tmp_path / "public.pem"
    public.write_text(SIGNER.public_pem())
    run("demo", "--database", db)
    shown = loads(run("hub88", "set", "--database", db, "--operator", "11", "--public-key", str(public)).stdout)
    assert (shown["enabled"], shown["games"], shown["has_private_key"]) == (True, [], False)
    again = run("hub88", "set", "--database", db, "--operator", "11", "--public-key", str(public), "--game", "g1")
    assert loads(again.stdout)["games"] == ["g1"]
    assert loads(run("hub88", "show", "--database", db, "--operator", "11").stdout)["games"] == ["g1"]
    bad = run("hub88", "set", "--database", db, "--operator", "11", "--public-key", str(tmp_path), check=False)
    assert bad.returncode == 1
    missing = run("hub88", "show", "--database", db, "--operator", "99", check=False)
    assert missing.returncode == 1
    assert "no Hub88 settings" in missing.stderr

    from cryptography.hazmat.primitives import serialization

    private = tmp_path / "private.pem"
    private.write_bytes(
        SIGNER.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    body = b'{"test":"test"}'
    proc = subprocess.run(
        [*CLI, "hub88-sign", "--key", str(private)], input=body, capture_output=True, cwd=ROOT, env=clean_env()
    )
    assert proc.returncode == 0, proc.stderr
    assert signature.verify(signature.load_public_key(SIGNER.public_pem()), body, proc.stdout.decode().strip())
    refused = run("hub88-sign", "--key", str(public), check=False)
    assert refused.returncode == 2
