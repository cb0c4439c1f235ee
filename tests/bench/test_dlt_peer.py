"""The dlt peer's database URL: dlt needs a password in the URL and ignores libpq's passfile."""

from bench.dlt_peer import _dlt_url


def test_an_open_stack_gets_a_placeholder_password():
    assert _dlt_url("postgresql+psycopg://postgres@127.0.0.1:5432/db") == (
        "postgresql://postgres:bench@127.0.0.1:5432/db"
    )


def test_an_authenticated_stack_gets_the_password_of_its_passfile(tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("127.0.0.1:5433:*:postgres:other\n127.0.0.1:5432:*:postgres:s3:cr/t@\n")
    url = _dlt_url(f"postgresql+psycopg://postgres@127.0.0.1:5432/db?passfile={passfile}")
    assert url == "postgresql://postgres:s3%3Acr%2Ft%40@127.0.0.1:5432/db"
