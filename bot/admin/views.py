"""The admin's model views: procedures, aliases, offices, accounts, the audit log. Every change is
validated like an import, audited, and rebuilds the running bot's index."""

from typing import Any

from sqladmin import ModelView
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot import texts
from bot.accounts import close_sessions
from bot.admin.base import AdminApp, audit, who
from knowledge.models import Alias, AuditLog, Office, Procedure, StaffUser
from knowledge.records import DATA_KEYS, OFFICE_KEYS, RecordError, parse_office, parse_record


class ModelPage(ModelView):
    """A model view whose pages answer 404, not 500, to an id of the wrong type (/admin/alias/details/abc).

    sqladmin's own CSV/JSON export is off: it writes cells raw (a "=HYPERLINK(...)" alias would run in a
    spreadsheet); the spreadsheet page exports with formulas guarded.
    """

    can_export = False

    def _stmt_by_identifier(self, identifier: str) -> Any:
        try:
            return super()._stmt_by_identifier(identifier)
        except (ValueError, TypeError, OverflowError):
            raise HTTPException(status_code=404) from None


class AuditedView(ModelPage):
    """A model view whose changes are audited and refresh the bot's index."""

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

    async def after_model_delete(self, model: Any, request: Request) -> None:
        await run_in_threadpool(
            audit, self.app.engine, who(request), "delete", f"{self.identity}:{_identity(model)}", {}
        )
        await run_in_threadpool(self.app.reload)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else str(value)


def _identity(model: Any) -> str:
    for key in ("code", "slug", "username", "id"):
        if hasattr(model, key):
            return str(getattr(model, key))
    return "?"


def _validated(data: dict, model: Any, keys: tuple[str, ...], parse: Any) -> dict:
    """The form data checked like an imported row (same rules, same messages); raises ValueError."""
    merged = {key: data[key] if key in data else getattr(model, key, None) for key in keys}
    try:
        return parse(merged, "form").to_dict()
    except RecordError as error:
        raise ValueError(str(error)) from None


class ProcedureAdmin(AuditedView, model=Procedure):
    name, name_plural, icon = "Thủ tục", texts.ADMIN["procedures"], "fa-solid fa-file-lines"
    column_list = [
        Procedure.code,
        Procedure.name,
        Procedure.field,
        Procedure.level,
        Procedure.origin,
        Procedure.verified_on,
    ]
    column_searchable_list = [Procedure.code, Procedure.name, Procedure.short_name]
    column_sortable_list = [Procedure.code, Procedure.field, Procedure.verified_on]
    form_excluded_columns = [Procedure.updated_at]
    form_include_pk = True
    page_size = 50

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        keys = tuple(key for key in DATA_KEYS if key != "aliases")
        clean = _validated(
            data,
            model,
            keys + ("aliases",),
            lambda raw, where: parse_record({**{key: raw[key] for key in keys}, "aliases": []}, where),
        )
        data.update({key: clean[key] for key in keys if key in data})
        await super().on_model_change(data, model, is_created, request)


class AliasAdmin(AuditedView, model=Alias):
    name, name_plural, icon = "Cách gọi", texts.ADMIN["aliases"], "fa-solid fa-tags"
    column_list = [Alias.id, Alias.procedure_code, Alias.text]
    column_searchable_list = [Alias.text, Alias.procedure_code]
    form_columns = [Alias.procedure, Alias.text]
    form_ajax_refs = {"procedure": {"fields": ("code", "name"), "order_by": "code"}}
    page_size = 100


class OfficeAdmin(AuditedView, model=Office):
    name, name_plural, icon = "Nơi tiếp nhận", texts.ADMIN["offices"], "fa-solid fa-building"
    column_list = [Office.slug, Office.name, Office.address, Office.hours, Office.phone]
    form_include_pk = True

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        clean = _validated(data, model, OFFICE_KEYS, parse_office)
        data.update({key: clean[key] for key in OFFICE_KEYS if key in data})
        await super().on_model_change(data, model, is_created, request)


class StaffUserAdmin(AuditedView, model=StaffUser):
    name, name_plural, icon = "Tài khoản", texts.ADMIN["users"], "fa-solid fa-user"
    column_list = [StaffUser.username, StaffUser.role, StaffUser.created_at]
    column_details_exclude_list = [StaffUser.password_hash]
    form_columns = [StaffUser.role]  # accounts and passwords: `tthc admin create-user`
    can_create = False

    def is_accessible(self, request: Request) -> bool:
        return request.session.get("role") == "admin"

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    async def after_model_delete(self, model: Any, request: Request) -> None:
        await run_in_threadpool(close_sessions, self.app.engine, model.username)  # a deleted account is out at once
        await super().after_model_delete(model, request)


class AuditAdmin(ModelPage, model=AuditLog):
    name, name_plural, icon = "Nhật ký", texts.ADMIN["audit"], "fa-solid fa-clock-rotate-left"
    column_list = [AuditLog.created_at, AuditLog.username, AuditLog.action, AuditLog.target, AuditLog.details]
    column_default_sort = [(AuditLog.created_at, True)]
    can_create = can_edit = can_delete = False

