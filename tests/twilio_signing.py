"""Requests signed exactly as Twilio signs them, for tests of the webhooks."""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "http://localhost"


def twilio_signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


class TwilioSigner:
    """Posts form data to a webhook, signed exactly as Twilio signs it."""

    def __init__(self, client, token: str = AUTH_TOKEN, base_url: str = BASE_URL):
        self.client, self.token, self.base_url = client, token, base_url

    def post(self, path: str, data: dict, query: dict | None = None, **kwargs):
        full = path + ("?" + urlencode(query) if query else "")
        signature = twilio_signature(self.base_url + full, data, self.token)
        headers = {"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}
        return self.client.post(full, data=data, headers=headers, **kwargs)
