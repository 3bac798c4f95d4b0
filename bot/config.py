"""Settings of the application: the only module that reads the environment (prefix TTHC_, or .env)."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure; see README "Settings"."""

    model_config = SettingsConfigDict(env_prefix="TTHC_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///tthc.db"
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_bot_username: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma separated); none by default.
    trusted_proxies: str = ""
    # Extra normalisation terms (YAML mapping "citizen term: official term") that staff maintain.
    terms_file: str | None = None
    # Telegram user ids allowed to use /reload and /stats, comma separated.
    staff_ids: str = ""
    # Signs the staff admin's session cookie; set it so logins survive a restart (random when unset).
    secret_key: SecretStr | None = None
    # Salt for hashing user ids in the query log; set it in production so hashes cannot be reversed.
    log_salt: SecretStr = SecretStr("tthc-bot")
    # Hỏi cán bộ: when citizens may expect an answer (said to them), the target in working days (for the
    # dashboard), how long contact details are kept, and the staff Telegram group new questions go to.
    ticket_hours: str = "trong 2 ngày làm việc"
    ticket_target_days: float = 2.0
    ticket_retention_days: int = Field(default=90, ge=1)
    staff_chat_id: int | None = None

    # -- operations (README "Province deployment", "Privacy") -------------------------------------------------
    # Log lines as text, or as JSON objects one per line (for a log collector); never with tokens or user ids.
    log_format: Literal["text", "json"] = "text"
    # The query log keeps questions for analysis; who asked (the salted user hash) is erased after this many days.
    log_retention_days: int = Field(default=180, ge=1)

    # -- Zalo (README "Zalo") --------------------------------------------------------------------------------
    # The Zalo Bot Platform: a bot token `{bot_id}:{secret}` (it travels in URL paths: never log a URL).
    zalo_bot_token: SecretStr | None = None
    zalo_bot_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_webhook_url: str | None = None
    zalo_bot_webhook_secret: SecretStr | None = None
    # The Official Account: the Zalo app behind it, the OA secret key that signs webhooks, the first refresh
    # token (rotated ones are kept in the database), and the OA's public id for "Hỏi trên Zalo" links.
    zalo_oa_app_id: str | None = None
    zalo_oa_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_oa_api_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_oa_id: str | None = None

    @property
    def trusted_proxy_list(self) -> list[str]:
        """TTHC_TRUSTED_PROXIES as a list of addresses or networks."""
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def staff_id_set(self) -> frozenset[int]:
        """Staff Telegram user ids (TTHC_STAFF_IDS="123,456"); malformed entries are ignored."""
        return frozenset(int(part) for part in self.staff_ids.replace(";", ",").split(",") if part.strip().isdigit())

    @property
    def zalo_oa_missing(self) -> list[str]:
        """The Official Account settings still unset, when some are set (empty: all set, or none)."""
        given = {
            "TTHC_ZALO_OA_APP_ID": self.zalo_oa_app_id,
            "TTHC_ZALO_OA_APP_SECRET": _secret(self.zalo_oa_app_secret),
            "TTHC_ZALO_OA_SECRET_KEY": _secret(self.zalo_oa_secret_key),
            "TTHC_ZALO_OA_REFRESH_TOKEN": _secret(self.zalo_oa_refresh_token),
        }
        missing = [name for name, value in given.items() if not value]
        return missing if len(missing) < len(given) else []

    @property
    def zalo_oa_enabled(self) -> bool:
        """Whether the Official Account channel runs: its app id, app secret, secret key and refresh token set."""
        return bool(self.zalo_oa_app_id and not self.zalo_oa_missing)

    @property
    def zalo_bot_enabled(self) -> bool:
        """Whether the Zalo Bot channel runs (TTHC_ZALO_BOT_TOKEN set)."""
        return bool(_secret(self.zalo_bot_token))


def _secret(value: SecretStr | None) -> str:
    """The value of an optional secret; "" when unset (an empty variable counts as unset)."""
    return value.get_secret_value().strip() if value is not None else ""
