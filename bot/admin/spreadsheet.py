"""Spreadsheets in the admin: download the knowledge base as XLSX or CSV, upload one (checked like the CLI's
import: all or nothing, errors name the row and the field)."""

import tempfile
from pathlib import Path
from typing import Any

from sqladmin import BaseView, expose
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bot import texts
from bot.admin.base import AdminApp, HiddenView, audit, who
from knowledge.db import load_procedures, write_procedures
from knowledge.importer import ImportFileError, export_text, export_xlsx, read_file

MAX_UPLOAD_BYTES = 20 * 1024 * 1024




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
        filename = Path(str(getattr(upload, "filename", "") or "upload")).name
        suffix = Path(filename).suffix.lower()
        if suffix not in (".xlsx", ".csv", ".json", ".yaml", ".yml"):
            return texts.ADMIN["import_refused"].format(error=f"{filename}: use .xlsx, .csv, .json or .yaml")
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            return texts.ADMIN["import_refused"].format(error=f"{filename}: larger than 20 MB")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            path.write_bytes(content)
            try:
                read = await run_in_threadpool(read_file, path)
            except ImportFileError as error:
                return texts.ADMIN["import_refused"].format(error=str(error).replace(folder + "/", ""))
        result = await run_in_threadpool(write_procedures, self.app.engine, read.procedures, dry_run=dry_run)
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

