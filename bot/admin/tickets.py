"""Câu hỏi của người dân: questions handed to staff, oldest first, answered from here (or from the staff
Telegram group); each answer is delivered on the citizen's own channel."""

from functools import partial

from sqladmin import BaseView, expose
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot import texts
from bot.admin.base import AdminApp, HiddenView, audit, who
from bot.admin.inbox import add_alias_from_form, procedure_choices, resolve_procedure
from bot.tickets import (
    TicketError,
    answer_ticket,
    close_ticket,
    find_ticket,
    list_tickets,
    reopen_delivery,
    service_levels,
    working_days_between,
)
from knowledge.models import utcnow

DELIVERY_LABELS = texts.DELIVERY_LABELS
STATUS_LABELS = texts.TICKET_STATUS_LABELS


class TicketsView(BaseView):
    name, icon = texts.ADMIN["tickets"], "fa-solid fa-comments"
    app: AdminApp

    @expose("/tickets", methods=["GET"])
    async def tickets(self, request: Request) -> Response:
        target = self.app.settings.ticket_target_days
        levels = await run_in_threadpool(service_levels, self.app.engine, target)
        problems = await run_in_threadpool(
            partial(list_tickets, self.app.engine, limit=500, deliveries=("failed", "unreachable"))
        )
        return await self.templates.TemplateResponse(
            request,
            "admin/tickets.html",
            {
                "levels": levels,
                "problems": problems,
                "target": target,
                "delivery_labels": DELIVERY_LABELS,
                "local_time": texts.local_time,
            },
        )


class TicketView(HiddenView):
    """One ticket: the talk so far, the procedures the bot considered, the reply form."""

    name, icon = "Ticket", "fa-solid fa-comment"
    app: AdminApp

    @expose("/tickets/{code}", methods=["GET", "POST"])
    async def ticket(self, request: Request) -> Response:
        engine, catalog = self.app.engine, self.app.catalog
        code = str(request.path_params["code"])[:20]
        ticket = await run_in_threadpool(find_ticket, engine, code)
        if ticket is None:
            return Response(texts.WEB_TICKET_PAGE["not_found"], status_code=404, media_type="text/plain; charset=utf-8")
        message, draft = "", ""
        if request.method == "POST":
            form = await request.form()
            action = str(form.get("action", ""))
            draft = str(form.get("answer", ""))[:4000]
            if action == "insert":
                picked = resolve_procedure(catalog, str(form.get("procedure", ""))[:300])
                if picked:
                    facts = texts.plain(texts.procedure_answer(catalog.index.by_code[picked], texts.SUMMARY_FACETS))
                    draft = (draft.rstrip() + "\n\n" + facts).strip()
                else:
                    message = texts.ADMIN["alias_failed"]
            elif action == "answer":
                try:
                    await run_in_threadpool(
                        answer_ticket, engine, ticket.code, draft, staff=who(request), public=form.get("public") == "on"
                    )
                except TicketError as error:
                    message = texts.ADMIN["ticket_refused"].format(error=error)
                else:
                    await run_in_threadpool(audit, engine, who(request), "ticket", ticket.code, {"answer": draft})
                    return RedirectResponse(request.url_for("admin:view-tickets"), status_code=303)
            elif action == "alias":
                added = await add_alias_from_form(self.app, request, form, {"from_ticket": ticket.code})
                message = added or texts.ADMIN["alias_failed"]
            elif action == "resend":
                await run_in_threadpool(reopen_delivery, engine, ticket.code)
                message = texts.ADMIN["ticket_resend"]
            elif action == "close":
                await run_in_threadpool(close_ticket, engine, ticket.code)
                await run_in_threadpool(audit, engine, who(request), "ticket", ticket.code, {"status": "closed"})
                message = texts.ADMIN["ticket_closed"]
            ticket = await run_in_threadpool(find_ticket, engine, code) or ticket
        considered = [catalog.index.by_code[code] for code in ticket.considered if code in catalog.index.by_code]
        choices = procedure_choices(catalog)
        return await self.templates.TemplateResponse(
            request,
            "admin/ticket.html",
            {
                "ticket": ticket,
                "status_label": STATUS_LABELS.get(ticket.status, ticket.status),
                "delivery_label": DELIVERY_LABELS.get(ticket.delivery, ticket.delivery),
                "age": working_days_between(ticket.created_at, utcnow()),
                "considered": considered,
                "office": catalog.office(ticket.office_slug),
                "procedures": choices,
                "draft": draft,
                "message": message,
                "local_time": texts.local_time,
            },
        )
