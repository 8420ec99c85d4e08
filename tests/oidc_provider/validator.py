"""The provider's claims (user name, e-mail, groups) and its deliberately broken clients.

A client's ``name`` says how its ID tokens are made: ``normal``; ``expired`` (``exp`` ten
minutes ago); ``foreign-key`` (signed by a key the provider does not publish, under the
published key's id); ``other-issuer`` (``iss`` of another provider).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

_FOREIGN_KEY = jwk.JWK.from_pem(os.environ["OIDC_PROVIDER_FOREIGN_KEY"].encode())


class Validator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "preferred_username": user.username,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "email": user.email,
            "email_verified": True,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any
    ) -> str:
        behaviour = request.client.name
        if behaviour == "normal":
            return super().finalize_id_token(id_token, token, token_handler, request)
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = request.client.jwk_key
        if behaviour == "expired":
            id_token["iat"] = int(time.time()) - 1200
            id_token["exp"] = int(time.time()) - 600
        elif behaviour == "other-issuer":
            id_token["iss"] = "http://127.0.0.1:9/another-provider"
        elif behaviour == "foreign-key":
            key = _FOREIGN_KEY
        header = {"typ": "JWT", "alg": "RS256", "kid": request.client.jwk_key.thumbprint()}
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        self._save_id_token(id_token["jti"], request, expiration_time)
        return str(signed.serialize())
