"""Settings of the application: the only module that reads the environment (prefix TTHC_, or .env)."""

from pydantic import SecretStr
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

    @property
    def trusted_proxy_list(self) -> list[str]:
        """TTHC_TRUSTED_PROXIES as a list of addresses or networks."""
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def staff_id_set(self) -> frozenset[int]:
        """Staff Telegram user ids (TTHC_STAFF_IDS="123,456"); malformed entries are ignored."""
        return frozenset(int(part) for part in self.staff_ids.replace(";", ",").split(",") if part.strip().isdigit())
