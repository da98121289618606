"""Synthetic but realistic-looking mail for the sync benchmark (deterministic for a seed).

Most messages are an organisation's everyday mail: newsletters, colleagues, notifications, with
Received chains, DKIM signatures and List-* headers, plain or multipart/alternative bodies, some
encoded-word subjects and names, and about 5% carrying an attachment of 50-500 KB (random bytes,
base64: as incompressible as the PDFs and photos they stand for). A few are replies from a
platform to one of the workspace's requests: In-Reply-To one of its sent letters, or the
request's ``[REF]`` tag in the subject (some of them automatic acknowledgements).
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

_TEXT = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if so "
    "no will can more about said them some could into than then other only its time also new "
    "two these may first any like now my over such our man me even most made after well "
    "meeting report budget quarterly review draft proposal schedule invoice update project "
    "team deadline attached please regards thanks follow agenda minutes office travel visa "
    "conference partner donor grant program research interview volunteer translation campaign "
    "account password security newsletter subscription event webinar registration policy "
    "privacy notice statement payment receipt order delivery shipping confirmation reminder"
)
WORDS = _TEXT.split()
NAMES = ("Anna Schmidt", "Li Wei", "Maria Garcia", "John Smith", "Olga Petrova", "Chen Jing",
         "Ahmed Hassan", "Sofia Rossi", "Tom Becker", "Yuki Tanaka", "Lukas Meyer", "Ines Costa")
UTF8_NAMES = ("Zhōu Fēngsuǒ", "Jürgen Müller", "王小明", "Łukasz Wójcik", "Søren Ødegård",
              "陈静", "José Núñez")
DOMAINS = ("example.org", "mail.example.net", "news.example.com", "lists.example.info",
           "partner-ngo.example", "university.example.edu", "bank.example", "airline.example",
           "shop.example", "cloud.example.io", "press.example.co.uk", "gov.example")
OUR_DOMAIN = "hrgroup.example"
OUR_ADDRESS = f"inquiries@{OUR_DOMAIN}"


@dataclass(frozen=True)
class Letter:
    """A request's sent letter, as the reply generator needs it."""

    ref: str
    message_id: str
    platform_domain: str


def _sentence(rng: random.Random, low: int = 6, high: int = 18) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + rng.choice((".", ".", ".", "?", "!"))


def _paragraphs(rng: random.Random, size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        para = " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))
        out.append(para)
        length += len(para) + 2
    return "\n\n".join(out)


def _wrap(text: str, width: int = 76) -> str:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\r\n".join(lines)


def _encoded(text: str) -> str:
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _mid(rng: random.Random, domain: str) -> str:
    return f"<{rng.getrandbits(80):020x}.{rng.randint(1000, 99999)}@{domain}>"


def _received(rng: random.Random, domain: str, when: datetime) -> list[str]:
    hops = []
    for hop in range(rng.randint(2, 5)):
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        at = format_datetime(when + timedelta(seconds=hop * rng.randint(1, 20)))
        hops.append(f"Received: from mx{rng.randint(1, 40)}.{domain} (mx{hop}.{domain} [{ip}])\r\n"
                    f"\tby mx.{OUR_DOMAIN} (Postfix) with ESMTPS id {rng.getrandbits(40):010X}\r\n"
                    f"\tfor <{OUR_ADDRESS}>; {at}")
    return hops


def _dkim(rng: random.Random, domain: str) -> str:
    sig = base64.b64encode(rng.randbytes(256)).decode()
    bh = base64.b64encode(rng.randbytes(32)).decode()
    folded = "\r\n\t ".join(sig[i:i + 70] for i in range(0, len(sig), 70))
    selector = f"s{rng.randint(1, 9)}"
    return (f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector};"
            f"\r\n\th=from:to:subject:date:message-id:mime-version:content-type;\r\n"
            f"\tbh={bh};\r\n\tb={folded}")


def _attachment(rng: random.Random, boundary: str) -> str:
    size = rng.randint(50_000, 500_000)
    data = base64.encodebytes(rng.randbytes(size)).decode().replace("\n", "\r\n")
    name, ctype = rng.choice((("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"),
                              ("minutes.docx", "application/vnd.openxmlformats-officedocument."
                                               "wordprocessingml.document"),
                              ("scan.png", "image/png")))
    return (f"--{boundary}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{data}")


def _html(text: str) -> str:
    paras = "".join(f"<p style=\"margin:0 0 12px 0;font-family:Arial\">{p}</p>\n"
                    for p in text.split("\n\n"))
    return (f"<html><head><meta charset=\"utf-8\"><style>p{{color:#333}}</style></head>"
            f"<body><div class=\"wrapper\">\n{paras}</div></body></html>")


def _body(rng: random.Random, text: str, attach: bool) -> tuple[list[str], str]:
    """(content headers, body) for *text*: plain or multipart/alternative, maybe an attachment."""
    alternative = rng.random() < 0.5
    if not alternative and not attach:
        return (["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
                _wrap(text) + "\r\n")
    inner = f"alt-{rng.getrandbits(48):012x}"
    parts = (f"--{inner}\r\nContent-Type: text/plain; charset=utf-8\r\n"
             f"Content-Transfer-Encoding: 8bit\r\n\r\n{_wrap(text)}\r\n")
    if alternative:
        parts += (f"--{inner}\r\nContent-Type: text/html; charset=utf-8\r\n"
                  f"Content-Transfer-Encoding: 8bit\r\n\r\n{_wrap(_html(text))}\r\n")
    parts += f"--{inner}--\r\n"
    if not attach:
        return ([f"Content-Type: multipart/alternative; boundary=\"{inner}\""], parts)
    outer = f"mix-{rng.getrandbits(48):012x}"
    body = (f"--{outer}\r\nContent-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n"
            f"{parts}{_attachment(rng, outer)}\r\n--{outer}--\r\n")
    return ([f"Content-Type: multipart/mixed; boundary=\"{outer}\""], body)


def _assemble(headers: list[str], content: list[str], body: str) -> bytes:
    return ("\r\n".join([*headers, "MIME-Version: 1.0", *content]) + "\r\n\r\n" + body).encode()


def unrelated(rng: random.Random, when: datetime, attach: bool) -> bytes:
    """Everyday mail that concerns no request."""
    domain = rng.choice(DOMAINS)
    name = rng.choice(UTF8_NAMES) if rng.random() < 0.15 else rng.choice(NAMES)
    shown = _encoded(name) if not name.isascii() else f'"{name}"'
    local = name.split()[0].lower().encode("ascii", "ignore").decode() or "info"
    sender = f"{local}.{rng.randint(1, 999)}@{domain}"
    subject = _sentence(rng, 3, 9).rstrip(".?!")
    kind = rng.random()
    if kind < 0.15:
        subject = _encoded("Re: " + subject + " — " + rng.choice(UTF8_NAMES))
    elif kind < 0.3:
        subject = "Re: " + subject
    elif kind < 0.35:
        subject = f"Order #{rng.randint(100000, 999999)} {subject}"  # looks like a ticket
    headers = ["Return-Path: <bounce-" + f"{rng.getrandbits(32):08x}@{domain}>",
               f"Delivered-To: {OUR_ADDRESS}",
               # Our border writes its results above the Received headers, as servers do.
               f"Authentication-Results: mx.{OUR_DOMAIN}; dkim=pass header.d={domain}; "
               f"spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}",
               *_received(rng, domain, when)]
    if rng.random() < 0.7:
        headers.append(_dkim(rng, domain))
    headers += [f"From: {shown} <{sender}>", f"To: {OUR_ADDRESS}"]
    if rng.random() < 0.3:
        headers.append("Cc: " + ", ".join(f"{n.split()[0].lower()}@{OUR_DOMAIN}"
                                          for n in rng.sample(NAMES, rng.randint(1, 4))))
    headers += [f"Subject: {subject}", f"Date: {format_datetime(when)}",
                f"Message-ID: {_mid(rng, domain)}"]
    if subject.startswith("Re:") or (kind < 0.15 and rng.random() < 0.5):
        parent = _mid(rng, rng.choice(DOMAINS))
        headers += [f"In-Reply-To: {parent}", f"References: {_mid(rng, domain)} {parent}"]
    if rng.random() < 0.4:
        headers += [f"List-Id: <news.{domain}>",
                    f"List-Unsubscribe: <https://{domain}/unsubscribe?u={rng.getrandbits(64):x}>,"
                    f" <mailto:unsubscribe@{domain}>",
                    "List-Unsubscribe-Post: List-Unsubscribe=One-Click", "Precedence: bulk"]
    headers.append(f"X-Mailer: {rng.choice(('Outlook 16.0', 'Thunderbird 115', 'Mailchimp'))}")
    text = _paragraphs(rng, rng.randint(300, 6_000))
    content, body = _body(rng, text, attach)
    return _assemble(headers, content, body)


def reply(rng: random.Random, when: datetime, letter: Letter, *, by_subject: bool,
          acknowledgement: bool, attach: bool = False) -> bytes:
    """A platform's answer to *letter*: threaded (In-Reply-To) or by its [REF] subject tag."""
    domain = letter.platform_domain
    sender = f"{rng.choice(('legal', 'privacy', 'support', 'trust'))}@{domain}"
    if acknowledgement:
        subject = "Automatic reply: we received your request"
    else:
        subject = "Re: Suspension of the account"
    if by_subject:
        subject = f"[{letter.ref}] {subject}"
    headers = [f"Return-Path: <{sender}>", f"Delivered-To: {OUR_ADDRESS}",
               f"Authentication-Results: mx.{OUR_DOMAIN}; dkim=pass header.d={domain}; "
               f"spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}",
               *_received(rng, domain, when), _dkim(rng, domain),
               f"From: Platform Legal <{sender}>", f"To: {OUR_ADDRESS}",
               f"Subject: {subject}", f"Date: {format_datetime(when)}",
               f"Message-ID: {_mid(rng, domain)}"]
    if not by_subject:
        headers += [f"In-Reply-To: {letter.message_id}", f"References: {letter.message_id}"]
    if acknowledgement:
        headers.append("Auto-Submitted: auto-replied")
    text = ("Thank you for contacting us. " + _paragraphs(rng, rng.randint(300, 3000)))
    content, body = _body(rng, text, attach)
    return _assemble(headers, content, body)


def mailbox(count: int, letters: list[Letter], *, seed: int = 1, replies: float = 0.01,
            attachments: float = 0.05, start: int = 0) -> list[tuple[bytes, datetime, bool]]:
    """Messages *start* .. *start+count* of a deterministic mailbox: (raw, arrived, is_reply).

    The i-th message is the same whatever *count* and *start*, so a mailbox can be filled in
    steps. Replies are spread evenly (every 1/replies-th message) and rotate over *letters*.
    """
    out = []
    every = round(1 / replies) if replies else 0
    base = datetime(2026, 1, 5, 8, tzinfo=UTC)
    for i in range(start, start + count):
        rng = random.Random(seed * 1_000_003 + i)
        when = base + timedelta(minutes=7 * i)
        attach = rng.random() < attachments
        if every and i % every == every // 2 and letters:
            n = i // every
            letter = letters[n % len(letters)]
            raw = reply(rng, when, letter, by_subject=n % 2 == 1, acknowledgement=n % 5 == 0,
                        attach=attach)
            out.append((raw, when, True))
        else:
            out.append((unrelated(rng, when, attach), when, False))
    return out
