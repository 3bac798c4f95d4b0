"""A checker for Telegram's HTML parse mode: what the Bot API would refuse."""

from html.parser import HTMLParser

ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote"}
ENTITIES = {"lt", "gt", "amp", "quot"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED:
            self.errors.append(f"tag <{tag}> not supported")
        if tag == "a" and [name for name, _ in attrs] != ["href"]:
            self.errors.append("<a> needs exactly href")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_entityref(self, name):
        if name not in ENTITIES:
            self.errors.append(f"entity &{name}; not supported")

    def handle_data(self, data):
        for char in "<>&":
            if char in data:
                self.errors.append(f"raw {char!r} in text")


def telegram_html_errors(text: str) -> list[str]:
    """Why Telegram would refuse this text in HTML mode (empty when it parses), including its length."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    errors = checker.errors + [f"unclosed <{tag}>" for tag in checker.stack]
    if len(text.encode("utf-16-le")) // 2 > 4096:
        errors.append("longer than 4096")
    if not text.strip():
        errors.append("empty message")
    return errors
