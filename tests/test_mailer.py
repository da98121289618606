"""tracker.mailer against a real in-process SMTP server (tests/smtp_server.py)."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest
from smtp_server import SmtpTestServer, closed_port, silent_port

from tracker.config.settings import SmtpSettings
from tracker.core.errors import ConfigError, DeliveryUncertain, SendError
from tracker.net.smtp import check_smtp_settings, send_raw, smtp_password

SENDER = "inquiries@org.example"
RAW = (
    "From: Example Group <inquiries@org.example>\r\n"
    "To: legal@platform.example\r\n"
    "Subject: =?utf-8?b?5ZCN5Y2V?=\r\n"
    "Message-ID: <HC-2024-001@org.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "您好，\r\n"
    "我们请求贵公司说明删除账号的依据。\r\n"
    ".a line that starts with a dot\r\n"
    "\r\n"
    "此致\r\n"
).encode()


def test_plain_delivery_to_loopback_sends_the_exact_bytes() -> None:
    with SmtpTestServer() as server:
        send_raw(server.settings(), SENDER, ["legal@platform.example"], RAW)
    [message] = server.messages
    assert message.raw == RAW
    assert message.envelope_from == SENDER
    assert message.rcpt_tos == ["legal@platform.example"]
    assert "BODY=8BITMIME" in message.mail_options


def test_ehlo_names_the_sender_domain_not_this_machine() -> None:
    with SmtpTestServer() as server:
        send_raw(server.settings(), SENDER, ["legal@platform.example"], RAW)
    assert server.messages[0].ehlo_name == "org.example"
    assert server.messages[0].ehlo_name != socket.getfqdn()


def test_starttls_with_ca_file_delivers_after_login() -> None:
    with SmtpTestServer(tls="starttls", auth=("tracker", "s3cret")) as server:
        send_raw(server.settings(), SENDER, ["legal@platform.example"], RAW, password="s3cret")
    [message] = server.messages
    assert message.raw == RAW
    assert message.login == "tracker"


def test_implicit_tls_with_ca_file_delivers() -> None:
    with SmtpTestServer(tls="ssl", auth=("tracker", "s3cret")) as server:
        send_raw(server.settings(), SENDER, ["a@platform.example", "b@platform.example"], RAW,
                 password="s3cret")
    [message] = server.messages
    assert message.raw == RAW
    assert message.rcpt_tos == ["a@platform.example", "b@platform.example"]


def send_expecting_error(server: SmtpTestServer, pattern: str,
                         recipients: tuple[str, ...] = ("legal@platform.example",),
                         **changes: object) -> str:
    """Send RAW to *server* with settings *changes*; expect a SendError matching *pattern*."""
    with pytest.raises(SendError, match=pattern) as caught:
        send_raw(server.settings(**changes), SENDER, recipients, RAW)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_self_signed_certificate_without_ca_file_is_refused(tls: str) -> None:
    with SmtpTestServer(tls=tls) as server:  # type: ignore[arg-type]
        send_expecting_error(
            server, r"TLS certificate of 127\.0\.0\.1 could not be verified \(.*\); "
                    r"if the server uses a private CA set \[smtp\] ca_file",
            ca_file="")
    assert server.messages == []


def test_certificate_for_another_host_name_is_refused_even_with_ca_file() -> None:
    with SmtpTestServer(tls="ssl", cert_hosts=["mail.other.example"]) as server:
        send_expecting_error(server, r"could not be verified \(.*mismatch")
    assert server.messages == []


def test_starttls_refuses_a_server_that_does_not_offer_it() -> None:
    with SmtpTestServer() as server:  # plaintext only
        send_expecting_error(server, "does not offer STARTTLS; refusing to send in plaintext",
                             tls="starttls")
    assert server.messages == []


def test_implicit_tls_to_a_plaintext_server_fails_cleanly() -> None:
    with SmtpTestServer() as server:
        send_expecting_error(server, r"TLS handshake with 127\.0\.0\.1:\d+ failed", tls="ssl")


def test_refused_login_names_the_user_but_never_the_password(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRACKER_TEST_SMTP_PW", "wrong-Pa55word")
    with SmtpTestServer(tls="starttls", auth=("tracker", "right")) as server:
        settings = server.settings(password_env="TRACKER_TEST_SMTP_PW")
        with pytest.raises(SendError) as caught:
            send_raw(settings, SENDER, ["legal@platform.example"], RAW,
                     password=smtp_password(settings))
    message = str(caught.value)
    assert message.startswith("SMTP login refused for tracker at 127.0.0.1:")
    assert "(535 " in message and "$TRACKER_TEST_SMTP_PW" in message
    out, err = capsys.readouterr()
    for text in (message, caplog.text, out, err):
        assert "wrong-Pa55word" not in text
    assert server.messages == []


def test_rejected_recipient_is_named_with_the_server_reply() -> None:
    with SmtpTestServer(reject={"nobody@platform.example"}) as server:
        send_expecting_error(server, r"refused nobody@platform\.example \(550 5\.1\.1 .*\); "
                                     "nothing was sent", recipients=("nobody@platform.example",))
    assert server.messages == []


def test_partial_refusal_sends_to_nobody() -> None:
    with SmtpTestServer(reject={"nobody@platform.example"}) as server:
        send_expecting_error(server, r"refused 1 of 2 recipients: nobody@platform\.example "
                                     r"\(550 5\.1\.1 .*NOT sent to anyone",
                             recipients=("legal@platform.example", "nobody@platform.example"))
    assert server.messages == []


def test_refused_sender_is_a_send_error() -> None:
    with SmtpTestServer(reject_senders={SENDER}) as server:
        send_expecting_error(server, rf"refused the sender {SENDER} \(553 5\.7\.1 ")


def test_refused_data_is_a_send_error() -> None:
    with SmtpTestServer(data_reply="554 5.6.0 Message rejected as spam") as server:
        send_expecting_error(server, r"refused the letter \(554 5\.6\.0 Message rejected")


def test_connection_lost_after_data_warns_the_letter_may_have_gone() -> None:
    with SmtpTestServer(data_delay=2) as server, pytest.raises(DeliveryUncertain,
                                                                match="may have accepted"):
        send_raw(server.settings(timeout=0.3), SENDER, ["legal@platform.example"], RAW)
    assert len(server.messages) == 1  # which is exactly why "nothing was sent" would be wrong


def test_login_required_but_no_username_configured_is_a_send_error() -> None:
    with SmtpTestServer(tls="starttls", auth=("tracker", "s3cret")) as server:
        send_expecting_error(server, r"\(530 5\.7\.0 Authentication required\)", username="")


def test_utf8_address_is_sent_with_smtputf8() -> None:
    # Non-ASCII before the @ is refused everywhere (tracker.addresses); a domain is not.
    with SmtpTestServer() as server:
        send_raw(server.settings(), SENDER, ["legal@平台.example"], RAW)
    assert server.messages[0].rcpt_tos == ["legal@平台.example"]
    assert "SMTPUTF8" in server.messages[0].mail_options


def test_closed_port_is_a_send_error() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), tls="none", timeout=2)
    with pytest.raises(SendError, match=r"could not reach SMTP server 127\.0\.0\.1:\d+: .*"
                                        r"check \[smtp\] host and port"):
        send_raw(settings, SENDER, ["legal@platform.example"], RAW)


@pytest.mark.parametrize("tls", ["none", "ssl"])
def test_silent_server_times_out(tls: str) -> None:
    with silent_port() as port:
        settings = SmtpSettings(host="127.0.0.1", port=port, tls=tls,  # type: ignore[arg-type]
                                timeout=0.5)
        with pytest.raises(SendError, match=r"did not answer within 0\.5 s"):
            send_raw(settings, SENDER, ["legal@platform.example"], RAW)


@pytest.mark.parametrize(("recipients", "raw", "problem"), [
    ([], RAW, "no recipients"),
    (['a"b@platform.example'], RAW, "not a plain email address"),
    (["a@platform.example\r\nRCPT TO:<spy@evil.example>"], RAW, "not a plain email address"),
    (["Legal <legal@platform.example>"], RAW, "not a plain email address"),
    (["legal@platform.example"], b"Subject: x\n\nbare LF\n", "bare CR or LF"),
    (["legal@platform.example"], b"", "empty"),
])
def test_bad_envelope_or_message_is_refused_before_connecting(
        recipients: list[str], raw: bytes, problem: str) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), tls="none")
    with pytest.raises(SendError, match=problem):
        send_raw(settings, SENDER, recipients, raw)


def test_plaintext_to_a_remote_host_is_refused_before_any_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        pytest.fail("send_raw opened a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    settings = SmtpSettings(host="mail.platform.example", port=25, tls="none")
    with pytest.raises(ConfigError, match='tls = "none" is only allowed to a loopback host'):
        send_raw(settings, SENDER, ["legal@platform.example"], RAW)


def test_username_without_password_is_refused_before_connecting() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), tls="none", username="u")
    with pytest.raises(ConfigError, match="no password"):
        send_raw(settings, SENDER, ["legal@platform.example"], RAW)


GOOD = SmtpSettings(host="smtp.org.example", username="u", password_env="SMTP_PW")


@pytest.mark.parametrize(("changes", "problem"), [
    ({"host": ""}, r"set \[smtp\] host in tracker.toml or TRACKER_SMTP_HOST"),
    ({"tls": "none"}, r'\[smtp\] tls = "none" is only allowed to a loopback host; '
                      "use ssl or starttls"),
    ({"tls": "none", "host": "10.0.0.1"}, "only allowed to a loopback host"),
    ({"password_env": ""}, "username is set but neither password_env nor password_command"),
    ({"ca_file": "/nonexistent/ca.pem"}, r"ca_file /nonexistent/ca.pem does not exist"),
    ({"timeout": 0}, "timeout must be a positive"),
    ({"port": 70000}, "not a TCP port"),
])
def test_check_smtp_settings_refuses_bad_settings(changes: dict[str, object],
                                                   problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        check_smtp_settings(replace(GOOD, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize("settings", [
    GOOD,
    replace(GOOD, username="", password_env=""),
    replace(GOOD, password_env="", password_command="pass show smtp"),
    replace(GOOD, host="localhost", tls="none"),
    replace(GOOD, host="::1", tls="none"),
])
def test_check_smtp_settings_accepts_good_settings(settings: SmtpSettings) -> None:
    check_smtp_settings(settings)


def test_ca_file_that_is_not_a_certificate_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), tls="ssl", ca_file=str(bad))
    with pytest.raises(ConfigError, match=r"ca_file .* cannot be loaded"):
        send_raw(settings, SENDER, ["legal@platform.example"], RAW)


def test_smtp_password_reads_the_named_environment_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_TEST_SMTP_PW", "from-env")
    assert smtp_password(SmtpSettings(password_env="TRACKER_TEST_SMTP_PW")) == "from-env"
    assert smtp_password(SmtpSettings()) is None
