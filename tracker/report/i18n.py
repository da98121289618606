"""The report's words in English and Simplified Chinese (``[report] language``).

Only what the report itself says is translated: titles, labels, states, the suggested next steps
and deadline rules. What others wrote (subjects, senders, platform names) stays as it is, and
legal citations keep their official form ("GDPR Art. 12(3)").
"""

from __future__ import annotations

from datetime import date

from tracker.core import clock
from tracker.core.deadlines import DeadlineRule

LANGUAGES = ("en", "zh-Hans")

_ZH_DAYS = ("一", "二", "三", "四", "五", "六", "日")

# key: (English, Simplified Chinese). Templates use str.format fields.
_LABELS: dict[str, tuple[str, str]] = {
    "heading": ("{org}: weekly report", "{org}：每周报告"),
    "week": ("Week {start} to {end}", "统计周期：{start}至{end}"),
    # sections
    "summary": ("Summary", "概览"),
    "overdue": ("Overdue", "已逾期"),
    "due_soon": ("Due in the next 7 days", "未来 7 天内到期"),
    "inbound": ("This week's inbound mail", "本周收到的邮件"),
    "needs_attention": ("Needs a person", "需要人工处理"),
    "platforms": ("Per platform", "按平台统计"),
    "chart": ("Days without response against the deadline",
              "未获答复天数与截止期限对比"),
    "chart_legend": ("Each bar is the days without response; the black line is the deadline.",
                     "条形表示未获答复的天数，黑色竖线表示截止期限。"),
    "chart_more": ("The {n} longest silences of {total} open requests are shown.",
                   "仅显示 {total} 件未结请求中沉默时间最长的 {n} 件。"),
    "triage": ("Waiting for triage", "待分拣邮件"),
    "undelivered_letters": ("Undelivered letters", "未送达的信函"),
    "drafts": ("Drafts not yet sent", "尚未发出的草稿"),
    "reminders": ("Reminders due", "应发出的提醒"),
    "none": ("None.", "无。"),
    # summary lines
    "open": ("Open requests", "未结请求"),
    "very_overdue": ("Very overdue", "严重逾期"),
    "answered_this_week": ("Answered this week", "本周获答复"),
    "undelivered": ("Undelivered", "未送达"),
    "waiting_for_triage": ("Waiting for triage", "待分拣"),
    "suspicious_replies": ("Suspicious replies", "可疑回复"),
    "reminders_due": ("Reminders due", "应发提醒"),
    "drafts_count": ("Drafts not yet sent", "未发草稿"),
    # columns
    "ref": ("Ref", "编号"),
    "platform": ("Platform", "平台"),
    "subject": ("Subject", "主题"),
    "sent": ("Sent", "发出日期"),
    "due": ("Due", "截止日期"),
    "days": ("Days without response", "未答复天数"),
    "days_short": ("Days", "天数"),
    "business_days": ("Business days without response", "未答复工作日"),
    "business_days_short": ("Bdays", "工作日"),
    "legal_basis": ("Legal basis of the deadline", "期限的法律依据"),
    "legal_basis_short": ("Legal basis", "法律依据"),
    "follow_ups": ("Follow-ups sent", "已发跟进函"),
    "follow_ups_short": ("F-ups", "跟进"),
    "next_action": ("Next step", "下一步"),
    "overdue_by": ("Overdue by", "逾期"),
    "due_in": ("Due in", "距截止"),
    "state": ("State", "状态"),
    "received": ("Received", "收到时间"),
    "from": ("From", "发件人"),
    "recipient": ("To", "收件人"),
    "kind": ("Kind", "类型"),
    "request": ("Request", "请求"),
    "why": ("Why", "原因"),
    "letter": ("Letter", "信函"),
    "requests": ("Requests", "请求数"),
    "open_short": ("Open", "未结"),
    "answered_share": ("Answered", "获答复比例"),
    "median_days": ("Median days to first reply", "首次答复天数中位数"),
    "longest_silence": ("Longest current silence", "当前最长沉默"),
    "year": ("Year", "年份"),
    "all_time": ("All time", "全部"),
    "not_matched": ("not matched", "未匹配"),
    "n_days": ("{n} d", "{n} 天"),
    "n_days_of": ("{n} d ({ref})", "{n} 天（{ref}）"),
    # inbound categories
    "cat_reply": ("reply", "答复"),
    "cat_acknowledgement": ("acknowledgement", "确认收到"),
    "cat_bounce": ("bounce", "退信"),
    "cat_delay": ("delivery delay", "投递延迟"),
    "cat_suspicious": ("SUSPICIOUS", "可疑"),
    "cat_other": ("other", "其他"),
    # states and flags
    "state_draft": ("draft", "草稿"),
    "state_awaiting": ("awaiting", "等待答复"),
    "state_acknowledged": ("acknowledged", "已确认收到"),
    "state_answered": ("answered", "已答复"),
    "state_closed": ("closed", "已结案"),
    "flag_overdue": ("OVERDUE", "逾期"),
    "flag_very_overdue": ("VERY OVERDUE", "严重逾期"),
    "flag_undelivered": ("UNDELIVERED", "未送达"),
    "flag_suspicious": ("{n} SUSPICIOUS", "{n} 封可疑"),
    "draft_status_draft": ("draft", "草稿"),
    "draft_status_sending": ("interrupted while sending: check before sending again",
                             "发送中断：再次发送前请先核实"),
    # next steps (tracker.services.reminders.Plan.action)
    "next_follow-up": ("send a follow-up", "发送跟进函"),
    "next_final-notice": ("send the final notice before a complaint to the regulator",
                          "在向监管机构投诉前发送最后通知"),
    "next_complaint": ("complain to {where} (GDPR Art. 77) or go public: the final notice "
                       "went unanswered",
                       "向{where}投诉（GDPR 第 77 条）或公开此事：最后通知未获答复"),
    "next_lead_authority": ("the lead supervisory authority", "牵头监管机构"),
    "next_fix-address": ("the letter bounced: find a working address and send it again",
                         "信件被退回：请找到有效地址后重新发送"),
    "next_wait_due": ("wait: due in {n} days", "等待：{n} 天后到期"),
    "next_wait_sent": ("wait: last letter sent {day}", "等待：上一封信于{day}发出"),
    "next_draft": ("a drafted letter is waiting to be reviewed and sent",
                   "已起草的信件等待审阅和发送"),
    # deadline rules
    "rule_d": ("{n} day", "{n} 天"),
    "rule_d_plural": ("{n} days", "{n} 天"),
    "rule_bd": ("{n} business day", "{n} 个工作日"),
    "rule_bd_plural": ("{n} business days", "{n} 个工作日"),
    "rule_m": ("{n} month", "{n} 个月"),
    "rule_m_plural": ("{n} months", "{n} 个月"),
    "rule_roll": ("rolled forward to a business day", "遇非工作日顺延至下一工作日"),
    "rule_dsa": ("organisation default ({citation} sets no period)",
                 "机构默认期限（{citation} 未规定期限）"),
    "rule_none": ("organisation's own deadline", "机构自定期限"),
    # the email
    "email_subject": ("tracker weekly report, week ending {day}: {n} overdue",
                      "tracker 每周报告（截至{day}的一周）：{n} 件逾期"),
}


class Labels:
    """The report's words in one language: ``t = Labels("zh-Hans"); t("overdue")``."""

    def __init__(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown report language {language!r}")
        self.language = language
        self._index = LANGUAGES.index(language)

    def __call__(self, key: str, **fields: object) -> str:
        text = _LABELS[key][self._index]
        return text.format(**fields) if fields else text

    def day(self, day: date | None) -> str:
        """A date in words: "Mon 8 Jun 2020" or "2020年6月8日（周一）"; "-" for none."""
        if day is None:
            return "-"
        if self.language == "en":
            return clock.format_day(day)
        return f"{day.year}年{day.month}月{day.day}日（周{_ZH_DAYS[day.weekday()]}）"

    def state(self, state: str) -> str:
        key = f"state_{state}"
        return self(key) if key in _LABELS else state

    def category(self, category: str) -> str:
        return self(f"cat_{category}")

    def rule(self, rule: DeadlineRule) -> str:
        """The deadline rule and its legal basis, like ``DeadlineRule.describe``."""
        if self.language == "en":
            text = rule.describe()
            return text if rule.citation else f"{text} ({self('rule_none')})"
        plural = "" if rule.amount == 1 else "_plural"
        words = [self(f"rule_{rule.unit}{plural}", n=rule.amount)]
        if rule.roll and rule.preset != "gdpr":
            words.append(self("rule_roll"))
        if rule.preset == "dsa":
            words.append(self("rule_dsa", citation=rule.citation))
        elif rule.citation:
            words.append(rule.citation)
        else:
            words.append(self("rule_none"))
        return "，".join(words)

    def days(self, n: int | None) -> str:
        return "-" if n is None else self("n_days", n=n)
