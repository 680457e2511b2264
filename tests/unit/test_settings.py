from pathlib import Path

import pytest

from backend.settings import DEV_SECRET_KEY, Settings, SettingsError


def test_defaults_serve_locally_with_the_embedded_database() -> None:
    settings = Settings.from_env({})
    assert (settings.env, settings.host, settings.port) == ("development", "127.0.0.1", 8000)
    assert settings.database_url is None
    assert settings.data_dir.name == ".data"


def test_values_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CALCAPP_ENV": "production",
            "HOST": "0.0.0.0",
            "PORT": "8001",
            "DATABASE_URL": "postgresql://app:pw@db.internal:5433/calcapp",
            "CALCAPP_DATA_DIR": str(tmp_path),
            "CALCAPP_DB_POOL_SIZE": "20",
            "CALCAPP_SECRET_KEY": "x" * 40,
            "CALCAPP_LOG_LEVEL": "warning",
            "CALCAPP_STATIC_DIR": str(Path(__file__).parent.parent.parent / "pwa"),
            "CALCAPP_PUBLIC_URL": "https://calc.example.com/",
            "CALCAPP_BCRYPT_ROUNDS": "13",
            "SMTP_HOST": "smtp.example.com",
            "SMTP_PORT": "465",
            "SMTP_SECURITY": "TLS",
            "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "pw",
            "MAIL_FROM": "Calcapp <hello@example.com>",
            "CALCAPP_METRICS_TOKEN": "m" * 32,
            "CALCAPP_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
        }
    )
    assert settings.is_production
    assert (settings.host, settings.port, settings.db_pool_size) == ("0.0.0.0", 8001, 20)
    assert settings.database_url == "postgresql+asyncpg://app:pw@db.internal:5433/calcapp"
    assert settings.data_dir == tmp_path
    assert settings.log_level == "WARNING"
    assert (settings.static_dir / "sw.js").is_file()
    assert settings.base_url == "https://calc.example.com"
    assert (settings.bcrypt_rounds, settings.smtp_host, settings.smtp_port) == (
        13,
        "smtp.example.com",
        465,
    )
    assert (settings.smtp_security, settings.mail_from) == ("tls", "Calcapp <hello@example.com>")
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]


def test_base_url_defaults_to_host_and_port() -> None:
    assert Settings.from_env({"PORT": "8001"}).base_url == "http://127.0.0.1:8001"


def test_blank_values_mean_the_default() -> None:
    assert Settings.from_env({"PORT": " ", "DATABASE_URL": ""}) == Settings()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be an integer from 1 to 65535, got 'eighty'"),
        ({"PORT": "70000"}, "PORT must be an integer from 1 to 65535, got '70000'"),
        ({"CALCAPP_ENV": "staging"}, "CALCAPP_ENV must be one of development, test, production"),
        ({"CALCAPP_LOG_LEVEL": "loud"}, "CALCAPP_LOG_LEVEL must be one of DEBUG"),
        ({"CALCAPP_DB_POOL_SIZE": "0"}, "CALCAPP_DB_POOL_SIZE must be an integer from 1"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must be a PostgreSQL URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a valid URL"),
        ({"DATABASE_URL": "postgresql://u@h:5432"}, "DATABASE_URL names no database"),
        ({"CALCAPP_STATIC_DIR": "/nonexistent"}, "CALCAPP_STATIC_DIR has no index.html"),
        ({"CALCAPP_PUBLIC_URL": "calc.example.com"}, "CALCAPP_PUBLIC_URL must be an http(s) URL"),
        ({"CALCAPP_BCRYPT_ROUNDS": "3"}, "CALCAPP_BCRYPT_ROUNDS must be an integer from 4 to 16"),
        ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY must be one of starttls, tls, none"),
        ({"CALCAPP_TRUSTED_PROXIES": "10.0.0.0/8, proxy"}, "CALCAPP_TRUSTED_PROXIES must be IP"),
        ({"SMTP_ALLOW_PLAINTEXT": "maybe"}, "SMTP_ALLOW_PLAINTEXT must be 1 or 0"),
    ],
)
def test_bad_values_are_one_line_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("secret", [None, DEV_SECRET_KEY, "short"])
def test_production_refuses_a_missing_default_or_weak_secret(secret: str | None) -> None:
    environ = {"CALCAPP_ENV": "production"}
    if secret is not None:
        environ["CALCAPP_SECRET_KEY"] = secret
    with pytest.raises(SettingsError, match="CALCAPP_SECRET_KEY must be set"):
        Settings.from_env(environ)


PRODUCTION = {
    "CALCAPP_ENV": "production",
    "CALCAPP_SECRET_KEY": "s" * 48,
    "CALCAPP_PUBLIC_URL": "https://calc.example.com",
    "SMTP_HOST": "smtp.example.com",
    "CALCAPP_METRICS_TOKEN": "m" * 32,
}


def test_a_complete_production_configuration_is_accepted() -> None:
    assert Settings.from_env(PRODUCTION).is_production


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CALCAPP_BCRYPT_ROUNDS": "4"}, "CALCAPP_BCRYPT_ROUNDS must be at least 12"),
        ({"CALCAPP_PUBLIC_URL": ""}, "CALCAPP_PUBLIC_URL must be set"),
        ({"SMTP_HOST": ""}, "SMTP_HOST must be set"),
        ({"CALCAPP_METRICS_TOKEN": ""}, "CALCAPP_METRICS_TOKEN must be set"),
        ({"SMTP_SECURITY": "none"}, "SMTP_SECURITY=none sends mail"),
        ({"STRIPE_API_BASE": "http://stripe.internal"}, "STRIPE_API_BASE must be an https URL"),
    ],
)
def test_production_refuses_test_shortcuts(change: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**PRODUCTION, **change})


def test_development_accepts_the_default_secret() -> None:
    assert Settings.from_env({"CALCAPP_ENV": "development"}).secret_key == DEV_SECRET_KEY


def test_production_allows_plaintext_smtp_to_a_local_relay_when_told() -> None:
    relay = {"SMTP_SECURITY": "none", "SMTP_ALLOW_PLAINTEXT": "1"}
    assert Settings.from_env({**PRODUCTION, **relay}).smtp_security == "none"
