"""Settings from the environment (and an optional .env), one section per concern."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shop.db import DEFAULT_URL
from shop.money import check_currency

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"(\d+)\s*([smhd])")

_ENV = {"env_file": ".env", "env_file_encoding": "utf-8", "extra": "ignore"}


class TelegramSettings(BaseSettings):
    """The Telegram channel; enabled by a bot token."""

    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", **_ENV)  # type: ignore[typeddict-item]

    bot_token: SecretStr | None = None
    api_url: str | None = None
    bot_username: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    payment_provider_token: SecretStr | None = None
    # Telegram Stars charged for one major unit of SHOP_CURRENCY (digital goods are paid in Stars).
    stars_rate: Decimal = Field(default=Decimal(50), gt=0)


class TwilioSettings(BaseSettings):
    """The WhatsApp channel through Twilio; enabled by an account sid and token."""

    model_config = SettingsConfigDict(env_prefix="TWILIO_", **_ENV)  # type: ignore[typeddict-item]

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    whatsapp_from: str | None = None
    api_url: str | None = None
    # The secret of a webhook SharedKey: webhooks signed with it (HMAC-SHA256, named in the
    # X-Twilio-Webhooks-Signature-Settings header) are refused while it is unset.
    webhook_key: SecretStr | None = None
    # Approved WhatsApp templates (Content API SIDs) for what the shop says unasked outside
    # the 24-hour window, by kind, each taking the message as {{1}}: JSON, e.g.
    # {"order_status": "HX...", "money_returned": "HX...", "staff_answer": "HX..."}.
    templates: dict[str, str] = Field(default_factory=dict)
    # Content API templates that show options as buttons instead of numbered lines, by how
    # many options: quick replies (2-3) and list pickers (4-10). See README.md.
    quick_replies: dict[int, str] = Field(default_factory=dict)
    list_pickers: dict[int, str] = Field(default_factory=dict)
    # Messages a second the WhatsApp sender may send (Twilio queues beyond its throughput).
    send_rate: int = Field(default=80, gt=0, le=1000)
    # What WhatsApp charges for one marketing template (a broadcast to a customer outside
    # the 24-hour window), in major units of TWILIO_MARKETING_CURRENCY: fractions of a cent
    # are usual (e.g. 0.0250). Unset, `broadcast send --dry-run` counts them without a price.
    marketing_price: Decimal | None = Field(default=None, ge=0)
    marketing_currency: str = "USD"

    @field_validator("marketing_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        """Insist on a real ISO 4217 code."""
        return check_currency(value)

    @property
    def configured(self) -> bool:
        """Tell whether the WhatsApp channel has what it needs: an account, its token, a sender."""
        return bool(self.account_sid and self.auth_token and self.whatsapp_from)


class StripeSettings(BaseSettings):
    """Stripe Checkout links; without them the built-in sandbox checkout is used."""

    model_config = SettingsConfigDict(env_prefix="STRIPE_", **_ENV)  # type: ignore[typeddict-item]

    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    api_base: str | None = None  # another Stripe API host (a fake one in tests)


class DeliveryOptionSetting(BaseModel):
    """One way of delivery as the owner sets it, priced in major units of SHOP_CURRENCY."""

    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    price: Decimal = Field(default=Decimal(0), ge=0)
    free_from: Decimal | None = Field(default=None, ge=0)  # free for goods worth this much
    address: bool = True  # whether it needs the customer's address
    name: dict[str, str] = Field(default_factory=dict)  # by locale; built-in ids have names


class DeliverySettings(BaseSettings):
    """Delivery options and the pickup point; unset, see `shop.pricing.example_rules`."""

    model_config = SettingsConfigDict(env_prefix="DELIVERY_", **_ENV)  # type: ignore[typeddict-item]

    # JSON, e.g. [{"id": "courier", "price": "5.00", "free_from": "50"}, {"id": "pickup", "address": false}]
    options: list[DeliveryOptionSetting] | None = Field(default=None, min_length=1)
    pickup_address: str | None = Field(default=None, max_length=300)


class Settings(BaseSettings):
    """Everything chatshop reads from its environment."""

    model_config = SettingsConfigDict(**_ENV)  # type: ignore[typeddict-item]

    database_url: str = DEFAULT_URL
    redis_url: str | None = None
    public_base_url: str = ""  # unset: http://{HTTP_HOST}:{HTTP_PORT} (_reached_where_it_listens)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    shop_currency: str = "USD"
    default_locale: str = "en"
    shop_name: str = Field(default="chatshop", min_length=1, max_length=80)  # on posters
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    stripe: StripeSettings = Field(default_factory=StripeSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    # Signs payment webhooks and invoice payloads; unset: a random one kept in the database.
    payments_secret: SecretStr | None = None
    payment_link_minutes: int = Field(default=60, gt=0)
    stock_hold_minutes: int = Field(default=30, gt=0)
    # Carriers' tracking pages, "{number}" standing for the tracking number: JSON, e.g.
    # {"DHL": "https://www.dhl.com/track?id={number}"}. A shipped order links to its parcel.
    tracking_urls: dict[str, str] = Field(default_factory=dict)
    # How many messages the bot sends (replies, pushes, broadcasts together) to Telegram a
    # second in all, a second to one chat, and a minute to one group: Telegram's limits.
    telegram_send_rate: int = Field(default=30, gt=0, le=1000)
    telegram_chat_rate: int = Field(default=1, gt=0, le=1000)
    telegram_group_rate: int = Field(default=20, gt=0, le=1000)
    # The built-in sandbox checkout takes test payments; unset: only while no messenger
    # channel is configured, so a shop selling in a messenger never gives goods away.
    payments_sandbox: bool | None = None
    # How long a cart is left alone before its one reminder ("3h", "90m", "1d"); 0: none.
    cart_reminder_after: timedelta | None = timedelta(hours=3)

    @property
    def messenger_configured(self) -> bool:
        """Tell whether a messenger channel (Telegram, WhatsApp) has its settings."""
        return self.telegram.bot_token is not None or self.twilio.configured

    @property
    def sandbox_enabled(self) -> bool:
        """Tell whether the sandbox checkout may take (test) payments."""
        if self.payments_sandbox is not None:
            return self.payments_sandbox
        return not self.messenger_configured

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept "123,456" as well as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cart_reminder_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        """Read "3h", "90m", "1d" or "30s"; "0" or nothing turns reminders off."""
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("", "0"):
                return None
            found = _DURATION.fullmatch(text)
            if found:
                return timedelta(**{_UNITS[found[2]]: int(found[1])})
        return value

    @field_validator("cart_reminder_after")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        """Take a zero delay as no reminders, and refuse a negative one."""
        if value is not None and value < timedelta(0):
            raise ValueError("CART_REMINDER_AFTER cannot be negative")
        return value or None

    @field_validator("shop_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        """Insist on a real ISO 4217 code."""
        return check_currency(value)

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        """Insist on a language the shop speaks."""
        if value not in ("en", "ru"):
            raise ValueError("DEFAULT_LOCALE is en or ru")
        return value

    @model_validator(mode="after")
    def _reached_where_it_listens(self) -> Self:
        """Without PUBLIC_BASE_URL, links and webhooks go to where the web server listens."""
        # A fixed default once sent the demo's webhooks to port 8080 while it listened on
        # HTTP_PORT: to whatever other program had 8080, or to nobody.
        if not self.public_base_url:
            host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
            self.public_base_url = f"http://{host}:{self.http_port}"
        return self
