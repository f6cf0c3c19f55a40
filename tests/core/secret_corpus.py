"""A corpus of secrets that must never reach a span, and of look-alikes that must reach it intact.

Each secret is built from a seeded generator rather than written out, so the file holds no
key-shaped literal (and trips no secret scanner), and every run sees the same values.
``Positive.secrets`` are the parts that must vanish; the text around them may stay.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def filler(n: int, alphabet: str = ALNUM, seed: int = 0) -> str:
    """``n`` characters of ``alphabet``, the same on every run, with a digit and both cases when possible."""
    rng = random.Random(f"{seed}:{n}:{alphabet}")
    text = "".join(rng.choice(alphabet) for _ in range(n))
    if alphabet == ALNUM and n >= 3:
        text = "aZ7" + text[3:]  # a real key always mixes them; pin it so no seed gives a plain word
    return text


@dataclass(frozen=True)
class Positive:
    kind: str
    text: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Negative:
    kind: str
    text: str


def _p(kind: str, template: str, *secrets: str) -> Positive:
    """A positive whose text is ``template`` with ``{0}``, ``{1}``... filled by ``secrets``."""
    return Positive(kind, template.format(*secrets), secrets)


_PEM_BODY = "\n".join(filler(64, B64, i) for i in range(4))
_OPENAI = "sk-" + filler(48)
_OPENAI_PROJECT = "sk-proj-" + filler(40, ALNUM, 1) + "_" + filler(30, ALNUM, 2) + "-" + filler(40, ALNUM, 3)
_BASIC = base64.b64encode(b"deploy-bot:" + filler(18).encode()).decode()

POSITIVES: tuple[Positive, ...] = (
    # Provider keys.
    _p("openai_key", "using {0} for the summary", _OPENAI),
    _p("openai_project_key", "key {0}", _OPENAI_PROJECT),
    _p("openai_service_account_key", "sk-svcacct-{0}", filler(64, ALNUM, 4)),
    _p("anthropic_key", "ANTHROPIC_KEY is sk-ant-api03-{0}", filler(80, ALNUM, 5)),
    _p("aws_access_key", "aws {0} in us-east-1", "AKIA" + filler(16, string.ascii_uppercase + string.digits, 6)),
    _p("aws_secret_key", "aws_secret_access_key = {0}", filler(40, B64, 7)),
    _p("github_token", "cloned with ghp_{0}", filler(36, ALNUM, 8)),
    _p("github_fine_grained_token", "github_pat_{0}", filler(82, ALNUM + "_", 9)),
    _p("github_oauth_token", "gho_{0}", filler(36, ALNUM, 10)),
    _p("gitlab_token", "token glpat-{0} expires", filler(20, ALNUM + "-_", 11)),
    _p("slack_bot_token", "xoxb-{0}", "1234567890-" + filler(24, ALNUM, 12)),
    _p("slack_app_token", "xapp-1-{0}", "A0" + filler(30, ALNUM, 13)),
    _p(
        "slack_webhook",
        "posted to https://hooks.slack.com/services/{0}",
        "T" + filler(10, string.ascii_uppercase, 14) + "/B" + filler(10, string.ascii_uppercase, 15) + "/" + filler(24),
    ),
    _p("google_api_key", "maps key AIza{0}", filler(35, ALNUM + "-_", 16)),
    _p("google_oauth_token", "access ya29.{0}", filler(120, ALNUM + "-_", 17)),
    _p("google_refresh_token", "refresh 1//0{0}", filler(100, ALNUM + "-_", 18)),
    _p("stripe_live_key", "charge with sk_live_{0}", filler(24, ALNUM, 19)),
    _p("stripe_restricted_key", "rk_live_{0}", filler(24, ALNUM, 20)),
    _p("stripe_webhook_secret", "whsec_{0}", filler(32, ALNUM, 21)),
    _p("huggingface_token", "hf_{0} for the hub", filler(34, ALNUM, 22)),
    _p("npm_token", "//registry.npmjs.org/:_authToken=npm_{0}", filler(36, ALNUM, 23)),
    _p("sendgrid_key", "SG.{0}.{1}", filler(22, ALNUM + "-_", 24), filler(43, ALNUM + "-_", 25)),
    _p("twilio_api_key", "twilio SK{0}", filler(32, HEX, 26)),
    _p("twilio_account_sid", "account AC{0}", filler(32, HEX, 27)),
    _p(
        "azure_storage_connection_string",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={0};EndpointSuffix=core.windows.net",
        filler(86, B64, 28) + "==",
    ),
    _p("jwt", "id token eyJhbGciOiJIUzI1NiJ9.{0}", "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + filler(43, B64URL, 29)),
    # Private key blocks.
    _p("rsa_private_key", "-----BEGIN RSA PRIVATE KEY-----\n{0}\n-----END RSA PRIVATE KEY-----", _PEM_BODY),
    _p("openssh_private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n{0}\n-----END OPENSSH PRIVATE KEY-----", _PEM_BODY),
    _p("ec_private_key_unterminated", "-----BEGIN EC PRIVATE KEY-----\n{0}", _PEM_BODY),
    _p(
        "pgp_private_key",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{0}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----",
        _PEM_BODY,
    ),
    _p(
        "putty_private_key",
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n"
        "AAAAC3NzaC1lZDI1NTE5AAAAIH\nPrivate-Lines: 1\n{0}\nPrivate-MAC: {1}",
        filler(44, B64, 30),
        filler(64, HEX, 31),
    ),
    # Credentials inside URLs.
    _p("postgres_url", "DATABASE_URL postgres://app:{0}@db.internal:5432/app", filler(16, ALNUM, 32)),
    _p("mongodb_srv_url", "mongodb+srv://admin:{0}@cluster0.abcd.mongodb.net/test", filler(16, ALNUM, 33)),
    _p("redis_url_password_only", "cache at redis://:{0}@cache:6379/0", filler(16, ALNUM, 34)),
    _p("https_basic_url", "GET https://deploy:{0}@git.example.com/repo.git", filler(16, ALNUM, 35)),
    _p("url_password_with_at_sign", "mysql://root:{0}@db:3306/shop", "p@ss" + filler(10, ALNUM, 36)),
    # Assignments of a sensitive name.
    _p("env_openai_api_key", "OPENAI_API_KEY={0}", filler(32, ALNUM, 37)),
    _p("env_db_password", "export DB_PASSWORD={0}", filler(12, ALNUM, 38)),
    _p("env_github_token", "GITHUB_TOKEN={0} gh pr create", filler(20, ALNUM, 39)),
    _p("auth_token_assignment", "retrying with auth_token={0}&page=2", filler(20, ALNUM, 40)),
    _p("password_quoted_with_spaces", 'password="{0}"', "correct horse battery staple"),
    _p("password_single_quoted", "{{'user': 'ann', 'password': '{0}'}}", "open sesame 42"),
    _p("json_api_key_in_text", 'the body was {{"api_key": "{0}", "limit": 3}}', filler(30, ALNUM, 41)),
    _p("yaml_password", "db:\n  password: {0}\n  host: db", "hunter2!" + filler(6, ALNUM, 42)),
    _p("client_secret", "client_secret={0}", filler(28, ALNUM, 43)),
    _p("secret_key_single_quotes", "SECRET_KEY = '{0}'", filler(50, ALNUM + "!@#%^*(-_=+)", 44)),
    _p("passphrase", "passphrase: {0}", filler(20, ALNUM, 45)),
    _p("x_api_key_header", "X-API-Key: {0}", filler(32, HEX, 46)),
    _p("session_id_assignment", "session_id={0}", filler(32, HEX, 47)),
    _p("go_short_assignment", 'apiKey := "{0}"', filler(24, ALNUM, 48)),
    # Authorization headers and cookies.
    _p("bearer_header", "Authorization: Bearer {0}", filler(40, ALNUM + "-._~+/", 49)),
    _p("basic_header", "Authorization: Basic {0}", _BASIC),
    _p("token_header", "authorization: Token {0}", filler(40, HEX, 50)),
    _p("bearer_in_prose", "call it with bearer {0} please", filler(30, ALNUM, 51)),
    _p(
        "cookie_header",
        "Cookie: sessionid={0}; csrftoken={1}; theme=dark",
        filler(32, ALNUM, 52),
        filler(32, ALNUM, 53),
    ),
    _p("set_cookie_header", "Set-Cookie: id={0}; Path=/; HttpOnly", filler(32, ALNUM, 54)),
    # Query parameters.
    _p("access_token_param", "https://api.example.com/me?access_token={0}&fields=name", filler(40, ALNUM, 55)),
    _p("refresh_token_param", "POST /oauth/token?grant_type=refresh_token&refresh_token={0}", filler(40, ALNUM, 56)),
    _p(
        "azure_sas_sig",
        "https://acct.blob.core.windows.net/c/b.png?sv=2022-11-02&sp=r&sig={0}",
        filler(43, ALNUM, 57) + "%3D",
    ),
    _p(
        "aws_presigned_signature",
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={0}",
        filler(64, HEX, 58),
    ),
)


def _blob(seed: int, size: int, urlsafe: bool) -> str:
    data = random.Random(seed).randbytes(size)
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()


#: Runs that start like a provider key. Inside a base64url blob they are not keys: they do not start a token.
_KEY_LIKE_RUNS = (
    "-sk-" + filler(48, ALNUM, 60),
    "_sk-ant-" + filler(40, ALNUM, 61),
    "-ghp_" + filler(36, ALNUM, 62),
    "_AKIA" + filler(16, string.ascii_uppercase, 63),
    "-xoxb-" + filler(30, ALNUM, 64),
    "_hf_" + filler(34, ALNUM, 65),
    "-glpat-" + filler(24, ALNUM, 66),
    "_eyJ" + filler(10, ALNUM, 67) + ".eyJ" + filler(10, ALNUM, 68),
    "-AIza" + filler(35, ALNUM, 69),
    "_npm_" + filler(36, ALNUM, 70),
)


def _key_like_blob(i: int) -> str:
    """A base64url image with three key-like runs inside it, where random data puts them in a big one."""
    blob = _blob(i, 6_000, urlsafe=True).rstrip("=")
    for j in range(3):
        at = 1000 + 2500 * j
        blob = blob[:at] + _KEY_LIKE_RUNS[(i + j) % len(_KEY_LIKE_RUNS)] + blob[at:]
    return blob


#: Images as a model or a tool passes them around (base64url, and base64 in a data URL).
BLOBS: tuple[Negative, ...] = tuple(Negative(f"base64url_blob_{i}", _key_like_blob(i)) for i in range(20)) + tuple(
    Negative(f"data_url_image_{i}", "data:image/png;base64," + _blob(100 + i, 6_000, urlsafe=False)) for i in range(3)
)
#: Random base64url images of 200 kB: about 7 in 10 of them hold an "sk-" run somewhere.
LARGE_BLOBS: tuple[str, ...] = tuple(_blob(1000 + i, 150_000, urlsafe=True) for i in range(20))

NEGATIVES: tuple[Negative, ...] = (
    *BLOBS,
    Negative("task_force", "task-force-alpha-bravo"),
    Negative("task_force_long", "assign task-force-alpha-bravo-charlie-delta-echo to the incident"),
    Negative("disk_words", "disk-usage-report-for-cluster-alpha-2024 is ready"),
    Negative("risk_words", "risk-assessment-for-the-quarterly-release-train"),
    Negative("flask_words", "pip install flask-sqlalchemy-integration-tests-1234567890"),
    Negative("scikit_learn_words", "sk-learn-compatible-pipeline-wrapper"),
    Negative("ask_words", "Ask-me-anything-session-2024-recording-final"),
    Negative("token_prose", "token: the model ran out of context"),
    Negative("token_prose_capitalised", "Token: The budget is 4096 tokens"),
    Negative("password_prose", "The password: expired yesterday, so I asked for a reset"),
    Negative("secret_prose", "secret: none of the files held one"),
    Negative("cookie_prose", "the cookie: chocolate chip, as requested"),
    Negative("authorization_prose", "authorization: pending review by the owner"),
    Negative("authorization_failed", "Authorization failed for user ann"),
    Negative("oauth_prose", "OAuth: enabled for the workspace"),
    Negative("bearer_prose", "the bearer of bad news"),
    Negative("max_tokens_assignment", "max_tokens=4096"),
    Negative("prompt_tokens_colon", "prompt_tokens: 1234, completion_tokens: 88"),
    Negative("token_count", "token_count=17 total_tokens=9000"),
    Negative("usage_json", '{"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}'),
    Negative("tokenizer", "tokenizer=cl100k_base"),
    Negative("secretary", "secretary=Ann"),
    Negative("credentials_path", "credentials_path=/etc/app/credentials.json"),
    Negative("cookie_policy", "cookie_policy=strict"),
    Negative("cookie_policy_prose", "Cookie policy: accept all"),
    Negative("plain_url", "https://example.com/search?q=secret+santa&page=2#top"),
    Negative("ssh_url_user_only", "ssh://git@github.com/org/repo.git"),
    Negative("scp_like", "git@github.com:org/repo.git"),
    Negative("email", "mail ann.lee@example.com about it"),
    Negative("hf_function", "hf_hub_download('bert-base-uncased')"),
    Negative("npm_config", "npm_config_cache=/tmp/npm"),
    Negative("sha256", "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    Negative("upper_words", "ACME TASK-1234: ACK from the SKU team, see SG.md"),
    Negative("key_finding", "Key finding: lattice crypto is the leading PQC candidate"),
    Negative("api_key_prose", "API key rotation is due next week"),
    Negative("monkey_turkey", "monkey=1 turkey=2 cache_key=user:42"),
    Negative("author", "author: Jane Doe"),
    Negative("signature_prose", "signature: def f(x: int) -> str"),
    Negative("amz_date", "https://b.s3.amazonaws.com/k?X-Amz-Date=20240101T000000Z&X-Amz-Expires=60"),
    Negative("session_prose", "session summary for #support, 3 bots"),
    Negative("uuid", "request 123e4567-e89b-12d3-a456-426614174000 done"),
)

#: Numeric usage counts, under names a careless key rule would take for secrets (issue 11).
USAGE_COUNTS: dict[str, int] = {
    "max_tokens": 4096,
    "prompt_tokens": 1234,
    "completion_tokens": 88,
    "token_count": 17,
    "total_tokens": 1322,
    "cache_read_input_tokens": 5,
}
#: Keys that look sensitive and are not, with ordinary values.
NOT_SENSITIVE_KEYS: dict[str, str] = {
    "tokenizer": "cl100k_base",
    "secretary": "Ann",
    "credentials_path": "/etc/app/credentials.json",
    "cookie_policy": "strict",
    "author": "Jane Doe",
    "token_type": "Bearer",
}
