"""The wording platforms use: acknowledgements, answers, extensions, requests for information.

Tables only, and reading the periods they find as deadline rules (`period_rule`): one compiled
pattern list per signal and language, so that a new phrasing is one line here and
``tracker.mail.classify`` stays about the weighing of evidence. Patterns are searched in one
sentence at a time of the platform's own text (quoted copies of our letter cut off, see
`tracker.mail.prose`), lowercased: the tables are written in lower case and compiled without
``re.IGNORECASE``, and `tracker.mail.prose.union` joins a list into one pattern (together
about twice as fast as case-folding searches one by one; joining English and Chinese lists would
be slower again). Every quantifier is bounded, so hostile text cannot make a search slow.

A sentence that only says what *might* happen ("if we need more information we will contact
you", "response times may be extended during holidays") is boilerplate, not a notice: `HEDGES_*`
make a sentence count for nothing, and `NOT_ASKING_*` do so for requests for information
("please do not reply", "please quote your ticket number in any correspondence").
"""

from __future__ import annotations

import re

__all__ = [
    "ACK_EN", "ACK_ZH", "ANSWER_EN", "ANSWER_ZH", "EXTENSION_EN", "EXTENSION_ZH", "HEDGES_EN",
    "HEDGES_ZH", "INFO_EN", "INFO_ZH", "NOT_ASKING_EN", "NOT_ASKING_ZH", "PERIOD_CONTEXT_EN",
    "PERIOD_CONTEXT_ZH", "PERIOD_EN", "PERIOD_ZH", "SUBJECT_ACK_EN", "SUBJECT_ACK_ZH",
    "period_rule",
]



def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)  # for lowercased text


# --- subjects that announce an automatic reply or an acknowledgement ---------------------------

SUBJECT_ACK_EN = _compile(
    r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?response|autoresponse|auto)\s*:",
    r"\bout of (the )?office\b",
    r"\bwe('ve| have)? received your (request|message|inquiry|enquiry|e-?mail|ticket)\b",
    r"\byour (request|ticket|case|message|inquiry|enquiry)\b.{0,40}\b(has been|was|is)"
    r" (received|created|submitted|opened|logged)\b",
    r"^\s*(request|ticket|case)\b[^:]{0,20}\b(received|created|opened|logged)\b",
    r"^\s*thank(s| you) for (contacting|your (message|e-?mail|request|inquiry))\b",
    r"^\s*(abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática)",
)
SUBJECT_ACK_ZH = _compile(
    r"自动回复|自動回覆|自動回復|自动答复|外出(回复|中)|不在办公室|休假中",
    r"(我们|我們)?已(收到|接獲|接获)(您|你)的(请求|請求|邮件|郵件|来信|來信|来函|申请|申請|申诉|"
    r"申訴|举报|檢舉|反馈|意見)",
)

# --- the first lines of an acknowledgement or an out-of-office reply ---------------------------

_RECEIVED_WHAT = (r"(request|message|e-?mail|inquiry|enquiry|ticket|case|submission|report|"
                  r"appeal|letter|correspondence|form)")
ACK_EN = _compile(
    rf"\bwe('ve| have)? (received|logged|registered) your ({_RECEIVED_WHAT}|[\w -]{{1,30}}"
    rf" {_RECEIVED_WHAT})\b",
    rf"\byour {_RECEIVED_WHAT}\b[^.]{{0,40}}\b(has been|was|is) (successfully )?(received|"
    r"created|submitted|opened|logged|registered|assigned|forwarded)\b",
    r"\bthis is an? (automated|automatic|auto-?generated|system[- ]generated) (message|"
    r"response|reply|e-?mail|notification|confirmation|acknowledge?ment)\b",
    r"\b(this|the) (message|e-?mail) (was|has been|is) (sent |generated )?automatically\b",
    r"\bwe will (get back to|respond to|reply to|contact|be in touch with) you\b",
    r"\bwe will (respond|reply|answer)( to (you|your \w+))? (within|in|as soon as|shortly|soon)\b",
    r"\bwe (aim|endeavou?r|try|strive) to (respond|reply|answer|get back)\b",
    rf"\bwe('re| are) (currently |now )?(processing|reviewing|looking into|working on|handling)"
    rf" your ({_RECEIVED_WHAT}|[\w -]{{1,30}} {_RECEIVED_WHAT})\b",
    r"\b(a member of|someone from|one of) our (\w+ )?(team|staff|specialists|agents) will\b",
    r"\b(request|ticket|case|reference) (number|no\.?|id) is\b",
    r"\bi am (currently )?(out of (the )?office|away from|on (annual |parental |sick )?leave|"
    r"travell?ing)\b",
    r"\blimited access to (my )?e-?mail\b",
)
ACK_ZH = _compile(
    r"已(经|經)?(收到|接获|接獲|收悉)(您|你)?的?(请求|請求|邮件|郵件|来信|來信|来函|來函|申请|"
    r"申請|申诉|申訴|查询|查詢|投诉|投訴|举报|檢舉|反馈|反饋|留言|问题|問題)",
    r"(此|本|这|這)(封)?(邮件|郵件|信息|訊息|消息)(为|為|是|由)?(系统|系統)?(自动|自動)",
    r"自动回复|自動回覆|自動回復",
    r"(将|將|会|會)(尽快|盡快)(回复|回覆|答复|答覆|处理|處理|与您联系|與您聯繫|与您联络|與您聯絡)",
    r"(工单|工單|请求|請求|案件|案例)(号|號|编号|編號)(为|為|是)",
    r"正在(处理|處理|审核|審核|审查|審查)(您|你)的",
    r"(目前|现在|現在)?不在(办公室|辦公室)|休假中",
)

# --- an answer: an outcome, data sent, a refusal ------------------------------------------------

ANSWER_EN = _compile(
    # Not "has been disabled": an acknowledgement of an appeal says what it is about.
    r"\b(has|have) been (reinstated|restored|re-?enabled|reactivated|unlocked|unsuspended|"
    r"lifted|overturned|removed|taken down|deleted|erased)\b",
    r"\b(request|appeal|complaint) (has been|was) (approved|denied|rejected|declined|granted|"
    r"refused|fulfill?ed|completed|upheld)\b",
    r"\bwe('ve| have)? (completed|finished|concluded) (our|the) (review|investigation|"
    r"assessment|search)\b",
    r"\bwe('ve| have)? (decided|determined|concluded|found) that\b",
    r"\bwe('ve| have)? (reinstated|restored|removed|disabled|suspended|deleted|erased|granted|"
    r"rejected|declined|denied|refused)\b",
    r"\b(please find|we('ve| have)|i('ve| have)) (attached|enclosed)\b",
    r"\battached (is|are|please find|you will find)\b|\b(is|are) attached\b",
    r"\bthe (data|information|copy|records|documents|details) you (requested|asked for)\b",
    r"\bwe (are|were) (unable|not able) to (provide|disclose|share|comply|restore|reinstate|"
    r"reactivate|grant|fulfill?|release)\b",
    r"\bwe (can ?not|can't|could not|couldn't|will not|won't) (provide|disclose|share|comply|"
    r"restore|reinstate|reactivate|grant|fulfill?|release)\b",
    r"\b(does|do|did) not (retain|hold|store|keep|maintain|collect)\b",
)
ANSWER_ZH = _compile(
    r"(经|經)(过|過)?(我们的|我們的)?(仔细|仔細|进一步|進一步)?(审核|審核|审查|審查|调查|調查)",
    r"已(被)?(恢复|恢復|解封|重新启用|重新啟用|删除|刪除|移除|下架)",
    r"(无法|無法|不能)(提供|披露|恢复|恢復|满足|滿足|透露|解封)",
    r"(附件|隨附|随附)(是|为|為|中|内|內)?.{0,10}(资料|資料|数据|數據|信息|資訊|副本|文件)",
    r"(我们|我們)(的)?(决定|決定|结论|結論)",
    r"(我们|我們)(发现|發現|认定|認定)",
    r"(不|没有|沒有|並未|并未)(保留|保存|存储|儲存|持有)",
    r"(申诉|申訴|请求|請求)(已|已经|已經)(通过|通過|获批|獲批|被拒绝|被拒絕|处理完毕|處理完畢)",
)

# --- an extension of the time to answer (GDPR Art. 12(3), CCPA § 1798.130) --------------------

_NUM_EN = (r"(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
           r"fourteen|twenty|thirty|forty[- ]five|sixty|ninety)")
_UNIT_EN = r"((calendar |business |working )?(months?|days?|weeks?))"
_FURTHER = r"(a further|an additional|another|an extra|additional|further|extra)"
# Each pattern names the period it claims: n (a number, or none for "a further month") and u.
PERIOD_EN = _compile(
    rf"\b(extend\w*|extension|prolong\w*)\b[^.;]{{0,80}}?\bby (up to |a maximum of )?"
    rf"({_FURTHER} )?(?P<n>{_NUM_EN}) ((further|additional|more|extra) )?(?P<u>{_UNIT_EN})\b",
    rf"\b(?P<n>{_NUM_EN}) (further|additional|more|extra) (?P<u>{_UNIT_EN})\b",
    rf"\b{_FURTHER} ((?P<n>{_NUM_EN}) )?(?P<u>{_UNIT_EN})\b",
    rf"\bextension of (up to )?({_FURTHER} )?(?P<n>{_NUM_EN}) (?P<u>{_UNIT_EN})\b",
    rf"\b(?P<n>{_NUM_EN})[- ](?P<u>(calendar[- ]|business[- ]|working[- ])?(month|day|week))s? "
    r"extension\b",
)
# A period alone ("another 45 days") says nothing unless the sentence is about answering.
PERIOD_CONTEXT_EN = re.compile(
    r"\b(extend\w*|extension|need|require|respond\w*|response|reply|answer|complet\w*|"
    r"process\w*|fulfil\w*|deadline|time)\b")
EXTENSION_EN = _compile(
    r"\bwe(('ll| will| are| have|'ve|'re))? (be |now |therefore |hereby )?(extend(ing|ed)?"
    r"(?! (our|my) (apolog|thanks|gratitude|sympath))|"
    r"need(ing)? to extend|need an extension|need (more|additional|further) time|require "
    r"(more|additional|further) time|taking (more|additional|further) time)\b",
    r"\b(the|our|your) (response |reply |statutory )?(deadline|period|time ?frame|time limit|"
    r"timeline|time to respond)\b[^.;]{0,60}\b(has been|is being|will be|is) extended\b",
    r"\b(more|additional|further) time (is needed|is required|to (respond|complete|process|"
    r"review|answer|fulfil))",
    r"\bextension (of|to) (the|our) (deadline|period|time|response)",
    # "we need two further months to respond", "an additional 45 days to complete"
    r"\b(need|require|take|have|requires?|needs?)\b[^.;]{0,30}\b(one|two|three|four|six|"
    r"\d{1,3}) (further|additional|extra|more) (months?|weeks?|business days|working days|"
    r"days)\b",
)
_NUM_ZH = r"([0-9]{1,3}|[一二两兩三四五六七八九十]{1,3})"
_UNIT_ZH = r"(个月|個月|月|工作日|天|日|周|週|星期)"
# Not a date: "延长至2026年6月15日" is no period of 6 months or 15 days.
PERIOD_ZH = _compile(
    rf"(延长|延長|延期|另外|另|额外|額外|再)[^。；，,！？]{{0,12}}?(?<![0-9年月])(?P<n>{_NUM_ZH})\s*"
    rf"(?P<u>{_UNIT_ZH})(?![0-9]{{1,2}}\s*[日号號])",
)
PERIOD_CONTEXT_ZH = re.compile(r"延长|延長|延期|需要|答复|答覆|回复|回覆|处理|處理|期限|时间|時間")
EXTENSION_ZH = _compile(
    r"(延长|延長)(答复|答覆|回复|回覆|处理|處理|响应|回應|办理|辦理)?的?(期限|时间|時間|期间|期間)",
    r"需要(更多|额外|額外|更长|更長)的?(时间|時間)",
    r"(期限|时间|時間)(将|將|已|会|會)?(被)?(延长|延長)",
)

# --- the platform asks us for something --------------------------------------------------------

INFO_EN = _compile(
    r"\b(please|kindly) (provide|send|submit|upload|attach|confirm|verify|complete|fill (in|out)|"
    r"reply with|tell us|clarify|specify|resubmit|forward us)\b",
    r"\b(could|can|would) you (please )?(provide|send|submit|upload|confirm|verify|clarify|"
    r"specify|tell us)\b",
    r"\bwe (need|require|will need|would need|must) (you to (provide|send|confirm|verify|submit|"
    r"upload|complete)|(some |a few )?(more|additional|further) (information|details|"
    r"documentation|documents|info)|(a copy|proof|a photo|a scan) of|to (verify|confirm|validate)"
    r" your)",
    r"\b(verify|confirm|validate) your (identity|ownership|e-?mail address|authority|"
    r"relationship|account ownership)\b",
    r"\b(unable|not able|could not|couldn't|cannot|can't) (to )?(verify|confirm|identify|"
    r"locate|find) (your|the) (identity|account|request|information|details)\b",
    r"\b(the following|further|additional|more) (information|details|documents?|documentation)"
    r" (is|are) (needed|required)\b",
)
INFO_ZH = _compile(
    r"(请|請)(您)?(提供|提交|上传|上傳|补充|補充|确认|確認|验证|驗證|填写|填寫|告知|回复以下|"
    r"回覆以下|发送|發送)",
    r"(需要|须|須|必须|必須)(您)?(提供|补充|補充|验证|驗證|核实|核實|确认|確認)",
    r"(验证|驗證|核实|核實)(您|你)?的?(身份|身分)",
    r"(无法|無法)(验证|驗證|核实|核實|确认|確認|找到)(您|你)?的?(身份|身分|帐户|帳戶|账号|帳號|请求|"
    r"請求)",
)

# --- sentences that count for nothing ------------------------------------------------------------

# Narrow on purpose: "if you would like us to proceed, please verify your identity" and "so
# that we may process your request" are requests, not boilerplate.
HEDGES_EN = _compile(
    r"\bif (we|there|any|further|more|additional|necessary|needed|required|applicable|so|not|"
    r"you (have|need|require|(wish|want|would like) to (add|provide|share|send|include)))\b",
    r"\b(unless|whether|in case|in the event|in some cases|in certain cases|might|once|"
    r"as soon as|from time to time|occasionally|sometimes|typically|usually|generally|"
    r"extendable)\b",
    # "the law allows us to extend": what could happen; "as Article 12(3) allows" is no hedge
    r"\b(allows?|permits?|entitles?) (us|the controller|controllers|companies|organi[sz]ations|"
    r"businesses) to\b",
    r"\bmay (be|need|ask|take|require|contact|request|extend|have to)\b",
    r"\b(should|when|after) (you|we|there)\b|\b(can|could) (be extended|extend|take)\b",
    r"\bif you (disagree|believe|think|feel)\b",  # "…, please submit an appeal" is no request
    r"\bwill ask you\b",
)
HEDGES_ZH = _compile(
    r"如果|如需|如有|若您|若我|若需|倘若|可能|一旦|届时|屆時|视情况|視情況|有时|有時|通常|一般",
)
NOT_ASKING_EN = _compile(
    r"\b(do not|don't|never|no need to|not (required|necessary|needed))\b",
    r"\b(feedback|survey|rate (us|your)|rating|satisfaction|how we did)\b",
    r"\b(ticket|reference|case|request) (number|no\.?|id)\b[^.]{0,40}\b(correspondence|"
    r"replies|communications?|future)\b|\bin (any|all) (future )?(correspondence|replies)\b",
)
NOT_ASKING_ZH = _compile(r"请勿|請勿|无需|無需|不需要|不必|切勿|满意度|滿意度|评价|評價")

# --- a period the tables found, as a deadline rule ------------------------------------------------

_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "fourteen": 14, "twenty": 20, "thirty": 30, "forty-five": 45, "forty five": 45,
          "sixty": 60, "ninety": 90}  # fmt: skip
_HAN = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
        "九": 9}  # fmt: skip


def _number(text: str | None) -> int | None:
    if not text:
        return 1  # "a further month"
    text = text.lower()
    if text.isdigit():
        return int(text)
    if text in _WORDS:
        return _WORDS[text]
    if not set(text) <= {*_HAN, "十"}:
        return None
    tens, _, units = text.partition("十")
    if "十" not in text:
        return _HAN.get(text) if len(text) == 1 else None
    return (_HAN.get(tens, 0) if tens else 1) * 10 + (_HAN.get(units, 0) if units else 0)


def period_rule(number: str | None, unit: str) -> str | None:
    """A period as a deadline rule tracker reads ("2m", "45d", "10bd"); None if it makes none."""
    amount = _number(number)
    unit = unit.lower()
    if not amount:
        return None
    if unit.startswith(("business", "working")) or unit == "工作日":
        text, limit = f"{amount}bd", 2600
    elif "month" in unit or "月" in unit:
        text, limit = f"{amount}m", 120
    elif "week" in unit or unit in ("周", "週", "星期"):
        amount *= 7  # tracker counts weeks as days
        text, limit = f"{amount}d", 3650
    else:
        text, limit = f"{amount}d", 3650
    return text if amount <= limit else None
