"""Spreadsheets in the admin: download the knowledge base as XLSX or CSV, upload one (checked like the CLI's
import: all or nothing, errors name the row and the field)."""

import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from sqladmin import BaseView, expose
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bot import texts
from bot.admin.base import AdminApp, HiddenView, audit, who
from knowledge.db import load_procedures, write_procedures
from knowledge.exporter import export_text, export_xlsx
from knowledge.importer import ImportFileError, read_upload


class SpreadsheetView(BaseView):
    name, icon = texts.ADMIN["spreadsheet"], "fa-solid fa-file-excel"
    app: AdminApp

    @expose("/spreadsheet", methods=["GET", "POST"])
    async def spreadsheet(self, request: Request) -> Response:
        message = ""
        if request.method == "POST":
            form = await request.form()
            upload = form.get("file")
            dry_run = form.get("dry_run") == "on"
            message = await self._import(request, upload, dry_run)
        return await self.templates.TemplateResponse(request, "admin/spreadsheet.html", {"message": message})

    async def _import(self, request: Request, upload: Any, dry_run: bool) -> str:
        filename = Path(str(getattr(upload, "filename", "") or "upload")).name[:120]
        if not hasattr(upload, "file"):
            return texts.ADMIN["import_refused"].format(error=texts.ADMIN["no_file"])
        with tempfile.TemporaryDirectory() as folder:
            # The form parser already spooled the upload to disk; copy it in chunks, off the event loop.
            path = Path(folder) / "upload"
            await run_in_threadpool(_save, upload.file, path)
            try:
                read = await run_in_threadpool(read_upload, path, filename)
            except ImportFileError as error:
                return texts.ADMIN["import_refused"].format(error=texts.record_error_words(str(error)))
        result = await run_in_threadpool(
            write_procedures, self.app.engine, read.procedures, dry_run=dry_run, given=read.given
        )
        counts = {
            "file": filename,
            "added": len(result.added),
            "updated": len(result.updated),
            "unchanged": len(result.unchanged),
        }
        if dry_run:
            return texts.ADMIN["would_import"].format(**counts)
        await run_in_threadpool(
            audit,
            self.app.engine,
            who(request),
            "import",
            filename,
            {"added": result.added, "updated": result.updated},
        )
        await run_in_threadpool(self.app.reload)
        return texts.ADMIN["imported"].format(**counts)


def _save(source: BinaryIO, path: Path) -> None:
    source.seek(0)
    with path.open("wb") as target:
        shutil.copyfileobj(source, target, 1024 * 1024)


class SpreadsheetDownloadView(HiddenView):
    """The knowledge base as a spreadsheet download (hidden from the menu; linked from the spreadsheet page)."""

    name, icon = "Download", "fa-solid fa-download"
    app: AdminApp

    @expose("/spreadsheet/download.{fmt}", methods=["GET"])
    async def download(self, request: Request) -> Response:
        fmt = request.path_params["fmt"]
        procedures = await run_in_threadpool(load_procedures, self.app.engine)
        if fmt == "xlsx":
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "kb.xlsx"
                await run_in_threadpool(export_xlsx, procedures, path)
                data = path.read_bytes()
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return Response(
                data, media_type=media, headers={"Content-Disposition": 'attachment; filename="tthc-kb.xlsx"'}
            )
        if fmt == "csv":
            text = export_text(procedures, "csv")
            return StreamingResponse(
                iter([text.encode("utf-8")]),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="tthc-kb.csv"'},
            )
        return JSONResponse({"detail": "unknown format"}, status_code=404)

