"""The admin's model views: procedures, aliases, offices, accounts, the audit log. Every change is
validated like an import, audited, and rebuilds the running bot's index. Everything a clerk reads is in
Vietnamese: labels, choices, messages; lists are edited one item per line."""

import logging
from typing import Any

from markupsafe import Markup, escape
from sqladmin import ModelView
from sqladmin.flash import Flash
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from wtforms import Form, SelectField, TextAreaField
from wtforms.validators import Optional

from bot import texts
from bot.accounts import close_sessions
from bot.admin.base import AdminApp, audit, who
from knowledge.models import Alias, AuditLog, Office, Procedure, StaffUser
from knowledge.records import DATA_KEYS, LIST_KEYS, OFFICE_KEYS, RecordError, parse_office, parse_record


class LinesField(TextAreaField):
    """A list edited as text, one item per line (documents, steps, legal basis...)."""

    def _value(self) -> str:
        if isinstance(self.data, list | tuple):
            return "\n".join(str(item) for item in self.data)
        return str(self.data or "")

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]) if valuelist else ""
        self.data = [line.strip() for line in text.splitlines() if line.strip()]


def _labels(*keys: str) -> dict[str, str]:
    return {key: texts.FIELD_LABELS[key] for key in keys if key in texts.FIELD_LABELS}


class _VietnameseMessages:
    """WTForms' validation messages in Vietnamese (WTForms ships no Vietnamese catalogue)."""

    def gettext(self, message: str) -> str:
        return texts.ADMIN_UI.get(message, message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.gettext(singular if count == 1 else plural)


class VietnameseForm(Form):
    """The base of every admin form: its messages are Vietnamese."""

    class Meta:
        def get_translations(self, form: Form) -> _VietnameseMessages:
            return _VietnameseMessages()


class ModelPage(ModelView):
    """A model view whose pages answer 404, not 500, to an id of the wrong type (/admin/alias/details/abc).

    sqladmin's own CSV/JSON export is off: it writes cells raw (a "=HYPERLINK(...)" alias would run in a
    spreadsheet); the spreadsheet page exports with formulas guarded.
    """

    can_export = False
    form_base_class = VietnameseForm

    def _stmt_by_identifier(self, identifier: str) -> Any:
        try:
            return super()._stmt_by_identifier(identifier)
        except (ValueError, TypeError, OverflowError):
            raise HTTPException(status_code=404) from None


class AuditedView(ModelPage):
    """A model view whose changes are audited, confirmed to the clerk, and refresh the bot's index."""

    app: AdminApp

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        request.state.before = {} if is_created else {key: getattr(model, key) for key in data if hasattr(model, key)}

    async def after_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        before = getattr(request.state, "before", {})
        changed = {
            key: {"before": _plain(before.get(key)), "after": _plain(getattr(model, key, None))}
            for key in data
            if is_created or before.get(key) != getattr(model, key, None)
        }
        await run_in_threadpool(
            audit,
            self.app.engine,
            who(request),
            "create" if is_created else "update",
            f"{self.identity}:{_identity(model)}",
            changed,
        )
        await run_in_threadpool(self.app.reload)
        Flash.success(request, texts.ADMIN["saved"].format(what=escape(str(model))))

    async def after_model_delete(self, model: Any, request: Request) -> None:
        await run_in_threadpool(
            audit, self.app.engine, who(request), "delete", f"{self.identity}:{_identity(model)}", {}
        )
        await run_in_threadpool(self.app.reload)
        Flash.success(request, texts.ADMIN["deleted"].format(what=escape(str(model))))


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else str(value)


def _identity(model: Any) -> str:
    for key in ("code", "slug", "username", "id"):
        if hasattr(model, key):
            return str(getattr(model, key))
    return "?"


class FormRejected(ValueError):
    """A form that breaks an import rule: shown to the clerk in Vietnamese, logged without a traceback."""


class QuietRejections(logging.Filter):
    """sqladmin logs every refused save with a traceback; a clerk's typo is not a server fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FormRejected):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _validated(data: dict, model: Any, keys: tuple[str, ...], parse: Any) -> dict:
    """The form data checked like an imported row (same rules); raises FormRejected with a Vietnamese line."""
    merged = {key: data[key] if key in data else getattr(model, key, None) for key in keys}
    try:
        return parse(merged, "form").to_dict()
    except RecordError as error:
        raise FormRejected(texts.record_error_in_vietnamese(str(error))) from None


PROCEDURE_FORM_KEYS = tuple(key for key in DATA_KEYS if key != "aliases")


class ProcedureAdmin(AuditedView, model=Procedure):
    name, name_plural, icon = "thủ tục", texts.ADMIN["procedures"], "fa-solid fa-file-lines"
    column_list = [
        Procedure.code,
        Procedure.name,
        Procedure.field,
        Procedure.level,
        Procedure.online_level,
        Procedure.origin,
        Procedure.verified_on,
    ]
    column_labels = _labels(*PROCEDURE_FORM_KEYS, "origin", "updated_at")
    column_formatters = {
        Procedure.online_level: lambda model, _: texts.ONLINE_LEVEL_LABELS.get(model.online_level, model.online_level),
        Procedure.origin: lambda model, _: texts.ORIGIN_LABELS.get(model.origin, model.origin),
    }
    column_formatters_detail = column_formatters
    column_searchable_list = [Procedure.code, Procedure.name, Procedure.short_name]
    column_sortable_list = [Procedure.code, Procedure.name, Procedure.field, Procedure.verified_on]
    form_columns = list(PROCEDURE_FORM_KEYS)
    form_overrides = {**dict.fromkeys(LIST_KEYS - {"aliases"}, LinesField), "online_level": SelectField}
    form_args = {
        "online_level": {"choices": list(texts.ONLINE_LEVEL_LABELS.items())},
        # An empty list is a valid list: the import rules (parse_record) decide what is required.
        **{key: {"validators": [Optional()]} for key in LIST_KEYS - {"aliases"}},
    }
    form_widget_args = {key: {"rows": 6} for key in LIST_KEYS}
    form_include_pk = True
    page_size = 50

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        clean = _validated(
            data,
            model,
            PROCEDURE_FORM_KEYS + ("aliases",),
            lambda raw, where: parse_record({**{key: raw[key] for key in PROCEDURE_FORM_KEYS}, "aliases": []}, where),
        )
        data.update({key: clean[key] for key in PROCEDURE_FORM_KEYS if key in data})
        await super().on_model_change(data, model, is_created, request)


def _procedure_of(alias: Alias, _attribute: Any) -> str:
    procedure = alias.procedure
    return f"{alias.procedure_code} — {procedure.name}" if procedure else alias.procedure_code


class AliasAdmin(AuditedView, model=Alias):
    name, name_plural, icon = "cách gọi", texts.ADMIN["aliases"], "fa-solid fa-tags"
    column_list = [Alias.text, Alias.procedure_code]
    column_labels = _labels("text", "procedure", "procedure_code")
    column_formatters = {Alias.procedure_code: _procedure_of}
    column_formatters_detail = column_formatters
    column_searchable_list = [Alias.text, Alias.procedure_code]
    form_columns = [Alias.procedure, Alias.text]
    form_ajax_refs = {"procedure": {"fields": ("code", "name", "short_name"), "order_by": "code"}}
    page_size = 100


class OfficeAdmin(AuditedView, model=Office):
    name, name_plural, icon = "nơi tiếp nhận", texts.ADMIN["offices"], "fa-solid fa-building"
    column_list = [Office.slug, Office.name, Office.address, Office.hours, Office.phone]
    column_labels = _labels(*OFFICE_KEYS)
    column_formatters = {
        Office.phone: lambda model, _: (
            Markup('<a href="tel:{0}">{1}</a>').format(texts.phone_link(model.phone), model.phone)
            if model.phone
            else ""
        )
    }
    form_overrides = {"agencies": LinesField}
    form_args = {"agencies": {"validators": [Optional()]}}
    form_include_pk = True

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        clean = _validated(data, model, OFFICE_KEYS, parse_office)
        data.update({key: clean[key] for key in OFFICE_KEYS if key in data})
        await super().on_model_change(data, model, is_created, request)


class StaffUserAdmin(AuditedView, model=StaffUser):
    name, name_plural, icon = "tài khoản", texts.ADMIN["users"], "fa-solid fa-user"
    column_list = [StaffUser.username, StaffUser.role, StaffUser.created_at]
    column_labels = _labels("username", "role", "created_at")
    column_formatters = {StaffUser.role: lambda model, _: texts.ROLE_LABELS.get(model.role, model.role)}
    column_details_exclude_list = [StaffUser.password_hash]
    form_columns = [StaffUser.role]  # accounts and passwords: `tthc admin create-user`
    form_overrides = {"role": SelectField}
    form_args = {"role": {"choices": list(texts.ROLE_LABELS.items())}}
    can_create = False

    def is_accessible(self, request: Request) -> bool:
        return request.session.get("role") == "admin"

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    async def after_model_delete(self, model: Any, request: Request) -> None:
        await run_in_threadpool(close_sessions, self.app.engine, model.username)  # a deleted account is out at once
        await super().after_model_delete(model, request)


def _short(value: Any) -> str:
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    text = "" if value is None else str(value)
    return text if len(text) <= 120 else text[:119] + "…"


def audit_details(entry: AuditLog, _attribute: Any = None) -> Markup:
    """Changed fields as "Label: before → after" lines, not a Python dict."""
    details = entry.details or {}
    lines = []
    for key, change in details.items():
        label = texts.FIELD_LABELS.get(key, key)
        if isinstance(change, dict) and set(change) == {"before", "after"}:
            lines.append(
                Markup("<b>{0}</b>: {1} → {2}").format(label, _short(change["before"]) or "∅", _short(change["after"]))
            )
        else:
            lines.append(Markup("<b>{0}</b>: {1}").format(label, _short(change)))
    return Markup("<br>").join(lines) if lines else Markup("")


def audit_target(entry: AuditLog, _attribute: Any = None) -> str:
    """'procedure:1.001193' as 'Thủ tục 1.001193'."""
    kind, _, identity = entry.target.partition(":")
    return f"{texts.AUDIT_TARGETS.get(kind, kind)} {identity}".strip() if identity else entry.target


class AuditAdmin(ModelPage, model=AuditLog):
    name, name_plural, icon = "nhật ký", texts.ADMIN["audit"], "fa-solid fa-clock-rotate-left"
    column_list = [AuditLog.created_at, AuditLog.username, AuditLog.action, AuditLog.target, AuditLog.details]
    column_labels = _labels("created_at", "username", "action", "target", "details")
    column_formatters = {
        AuditLog.action: lambda model, _: texts.AUDIT_ACTIONS.get(model.action, model.action),
        AuditLog.target: audit_target,
        AuditLog.details: audit_details,
        AuditLog.created_at: lambda model, _: texts.local_time(model.created_at, "%d/%m/%Y %H:%M"),
    }
    column_formatters_detail = column_formatters
    column_default_sort = [(AuditLog.created_at, True)]
    can_create = can_edit = can_delete = False
