"""Start the test OpenID provider: ``python -m tests.oidc_provider.serve DIR``.

Binds a free loopback port first (the issuer names it), makes two RSA keys (the published
one and a foreign one for forged tokens), migrates a fresh SQLite database in DIR, prints
``READY <base url>`` and serves until terminated. Offline, a few seconds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def main(directory: Path) -> None:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        OIDC_PROVIDER_DB=str(directory / "provider.sqlite3"),
        OIDC_PROVIDER_ISSUER=f"{base}/o",
        OIDC_PROVIDER_KEY=_pem(),
        OIDC_PROVIDER_FOREIGN_KEY=_pem(),
    )
    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    server.set_app(get_wsgi_application())
    print(f"READY {base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
