"""timeline.html: the bundle's story for people, on one self-contained page.

Styles are inline, there are no scripts and nothing is fetched (a Content-Security-Policy says
so too); every value that came from mail or from a person goes through ``html.escape``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tracker.core import clock
from tracker.evidence.entries import BundleContext, MessageEntry, RequestEvidence, Story
from tracker.evidence.format import MANIFEST, MANIFEST_SUM
from tracker.mail.admission import RULES
from tracker.services.facts import counts_for_clock
from tracker.store.models import Event, Message

TEXT_CHARS = 20_000  # message text shown in the timeline; the full message is in its file

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:62em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-top:2px solid #444;padding-top:.6em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:left;vertical-align:top}ol.messages{list-style:none;padding:0}
li.msg{border-left:4px solid #999;margin:.8em 0;padding:.3em .8em;background:#fafafa}
li.out{border-color:#2b6cb0}li.in{border-color:#2f855a}
li.suspicious{border-color:#c53030;background:#fff5f5}
.flag{font-weight:bold;color:#c53030}.meta{color:#555;font-size:.9em}
.when{font-weight:bold}pre{white-space:pre-wrap;word-wrap:break-word;font-size:.9em}
code{font-size:.9em;word-break:break-all}
""".strip()
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_KINDS = {"initial": "letter", "follow-up": "follow-up letter", "auto_reply": "acknowledgement",
          "bounce": "delivery failure notice", "delivery_delay": "delivery delay notice"}
_CHANNELS = {"email": "by email", "webform": "by web form", "post": "by post", "fax": "by fax",
             "manual": "recorded by hand"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return "(no date)"
    local = moment.astimezone(tz)
    return f"{clock.format_day(local.date())} {local:%H:%M}"


def _link(path: str, label: str) -> str:
    return f'<a href="{_e(quote(path))}">{_e(label)}</a>'


def _counted(m: Message) -> str:
    """Whether an inbound message counts for its request, and by which rule or why not."""
    if m.admission and counts_for_clock(m):
        return f"<b>counted</b>: {_e(RULES.get(m.admission, m.admission))}"
    why = "dismissed by staff" if m.triage == "dismissed" else m.hold or "no rule let it count"
    if m.triage == "pending":
        why += " (waiting for a person to check it)"
    return f"<b>not counted</b>: {_e(why)}"


def _message_html(ref: str, entry: MessageEntry, tz: ZoneInfo) -> str:
    m = entry.message
    suspicious = m.authenticity == "suspicious"
    classes = f"msg {'out' if m.direction == 'out' else 'in'}{' suspicious' if suspicious else ''}"
    verb = "sent" if m.direction == "out" else "received"
    if m.direction == "out" and m.status != "sent":
        verb = f"{m.status} (delivery not confirmed)"
    kind, channel = _KINDS.get(m.kind, m.kind), _CHANNELS.get(m.channel, f"by {m.channel}")
    who = (f" from {m.from_addr}" if m.from_addr else "") + (f" to {m.to_addrs}" if m.to_addrs
                                                               else "")
    lines = [f'<li class="{classes}" id="{_e(_anchor(ref, entry.number))}">',
             f'<div class="when">{entry.number:03d} · {_e(_when(m.sent_at, tz))}</div>',
             f"<div>{_e(verb)} <b>{_e(kind)}</b> {_e(channel)}{_e(who)}</div>"]
    if m.subject:
        lines.append(f"<div>Subject: <b>{_e(m.subject)}</b></div>")
    if suspicious:
        lines.append('<div class="flag">SUSPICIOUS: this reply may not come from the platform'
                     f" ({_e('; '.join(m.reasons) or 'see the manifest')})</div>")
    if m.kind in ("bounce", "delivery_delay"):
        what = "DELIVERY FAILED" if m.kind == "bounce" else "DELIVERY DELAYED"
        lines.append(f'<div class="flag">{what}: {_e(", ".join(m.bounced) or "see the message")}'
                     "</div>")
    if m.direction == "in":
        lines.append(f'<div class="meta">{_counted(m)}</div>')
    meta = [f"authenticity: {_e(m.authenticity)}" if m.authenticity else "",
            f"matched by {_e(m.match_rule)}" if m.match_rule else "",
            f"SHA-256 <code>{_e(m.sha256)}</code>" if m.sha256 else ""]
    meta.append(_link(entry.path, "file") if entry.path else _e(entry.no_file_reason))
    lines.append(f'<div class="meta">{" · ".join(x for x in meta if x)}</div>')
    if m.note:
        lines.append(f'<div class="meta">note: {_e(m.note)}</div>')
    for attachment, path in entry.attachments:
        lines.append(f'<div class="meta">attachment: {_link(path, attachment.filename or path)}'
                     f" ({_e(attachment.content_type)}, {len(attachment.data)} bytes)</div>")
    for problem in entry.problems:
        lines.append(f'<div class="flag">{_e(problem)}</div>')
    if entry.text.strip():
        text = entry.text if len(entry.text) <= TEXT_CHARS else \
            entry.text[:TEXT_CHARS] + "\n[… shortened here; the whole message is in its file]"
        lines.append(f"<details><summary>text</summary><pre>{_e(text)}</pre></details>")
    lines.append("</li>")
    return "\n".join(lines)


def _answered_html(story: Story, tz: ZoneInfo) -> str:
    """Which message stopped the clock, and when: the one that answered this wait."""
    wait, answer = story.item.wait, story.answer
    if wait.answered_at is None:
        return ""
    day = clock.format_day(clock.local_date(wait.answered_at, tz))
    by = ""
    if answer is not None:
        sender = f" (from {_e(answer.message.from_addr)})" if answer.message.from_addr else ""
        by = (f' by <a href="#{_e(_anchor(story.item.request.ref, answer.number))}">message '
              f"{answer.number:03d}</a>{sender}")
    days = wait.response_days
    rule = f"; {_counted(answer.message)}" if answer is not None else ""
    return f"<p>Answered on {_e(day)}{by}, after {days} day{'' if days == 1 else 's'}{rule}.</p>"


def _anchor(ref: str, number: int) -> str:
    return f"{ref}-m{number}"


def _clock_html(story: Story, context: BundleContext) -> list[str]:
    item, as_of = story.item, context.as_of
    row, rule, wait = item.row, item.rule, item.wait
    basis = _e(rule.citation) if rule.citation else "none (the organisation's own rule)"
    lines = [f"<p>Deadline rule: <b>{_e(rule.describe())}</b>. Legal basis: {basis}"
             + (f": {_e(rule.note)}." if rule.note else ".") + "</p>"]
    if wait.due_on:
        lines.append(f"<p>Due: <b>{_e(clock.format_day(wait.due_on))}</b></p>")
    lines.append(f"<p>How the deadline was computed: {_e(wait.explanation)}</p>")
    if answered := _answered_html(story, context.tz):
        lines.append(answered)
    if row.days_without_response is not None:
        lines.append(
            f"<p><b>{row.days_without_response} days without response</b> "
            f"({row.business_days_without_response} business days) as of "
            f"{_e(clock.format_day(as_of))}"
            + (f'; <span class="flag">OVERDUE by {row.overdue_by_days} days</span>'
               if row.overdue else "")
            + ('; <span class="flag">VERY OVERDUE</span>' if row.very_overdue else "") + "</p>")
    if row.delivery_failed:
        lines.append('<p class="flag">DELIVERY FAILED: a letter to '
                     f"{_e(item.request.recipient)} bounced permanently.</p>")
    if row.suspicious_replies:
        count = row.suspicious_replies
        lines.append(f'<p class="flag">{count} suspicious {"reply" if count == 1 else "replies"}'
                     " kept out of the count.</p>")
    return lines


def _facts_html(item: RequestEvidence) -> str:
    req, case = item.request, item.case
    facts = [("case", case.title if case else ""), ("account", case.account if case else ""),
             ("template", f"{req.template} ({req.language})"),
             ("recipient", f"{req.recipient} by {req.channel}"),
             ("state", req.state + (f": {req.resolution}" if req.resolution else "")),
             ("platform tickets", ", ".join(req.tickets))]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts if v)
    return f"<table>{rows}</table>"


def _events_html(events: Sequence[Event], tz: ZoneInfo) -> str:
    rows = []
    for e in events:
        change = f"{e.from_state} → {e.to_state}" if e.from_state != e.to_state else ""
        rows.append(f"<tr><td>{_e(_when(e.at, tz))}</td><td>{_e(e.kind)}</td>"
                    f"<td>{_e(change)}</td><td>{_e(e.actor)}</td></tr>")
    return ("<details><summary>event log (every change, with who made it)</summary><table>"
            "<tr><th>when</th><th>event</th><th>state</th><th>by</th></tr>"
            + "".join(rows) + "</table></details>")


def _request_html(story: Story, context: BundleContext) -> str:
    item, entries = story.item, story.entries
    ref = item.request.ref
    parts = [f'<section id="{_e(ref)}">',
             f"<h2>{_e(ref)}: {_e(item.platform_name)}</h2>", _facts_html(item),
             *_clock_html(story, context), "<h3>Letters and replies</h3>"]
    if entries:
        parts += ['<ol class="messages">',
                  *(_message_html(ref, e, context.tz) for e in entries), "</ol>"]
    else:
        parts.append("<p>No letter has been sent yet.</p>")
    parts += [_events_html(item.events, context.tz), "</section>"]
    return "\n".join(parts)


def _index_html(items: Sequence[RequestEvidence]) -> str:
    rows = []
    for item in items:
        row = item.row
        rows.append(
            f'<tr><td><a href="#{_e(row.ref)}">{_e(row.ref)}</a></td>'
            f"<td>{_e(item.platform_name)}</td><td>{_e(row.state)}</td>"
            f"<td>{_e(row.sent_on or '-')}</td><td>{_e(row.due_on or '-')}</td>"
            f"<td>{_e('-' if row.days_without_response is None else row.days_without_response)}"
            f"</td><td>{'OVERDUE' if row.overdue else ''}</td></tr>")
    return ("<table><tr><th>request</th><th>platform</th><th>state</th><th>sent</th>"
            "<th>due</th><th>days without response</th><th></th></tr>" + "".join(rows)
            + "</table>")


def render_timeline(stories: Sequence[Story], context: BundleContext) -> str:
    """The bundle's story for people: one self-contained page, no scripts, nothing fetched."""
    items = [story.item for story in stories]
    refs = ", ".join(item.request.ref for item in items)
    head = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
            f"<title>Evidence: {_e(refs)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>")
    intro = (f"<h1>Evidence: {_e(refs)}</h1>\n<p>{_e(context.organisation)}. As of "
             f"{_e(clock.format_day(context.as_of))}; times are local to {_e(context.tz.key)}. "
             f"Made by {_e(context.generated_by)}.</p>\n<p>Every file of this bundle is listed "
             f"with its SHA-256 in <code>{MANIFEST}</code>, whose own hash is in "
             f"<code>{MANIFEST_SUM}</code> (check it with <code>sha256sum -c {MANIFEST_SUM}"
             "</code> or <code>tracker evidence verify</code>).</p>")
    body = [_request_html(story, context) for story in stories]
    return "\n".join([head, intro, _index_html(items), *body, "</body>\n</html>\n"])


