"""The `/v1` router."""

from fastapi import APIRouter

from server.api.routes import blobs, jobs, models

api_router = APIRouter(prefix="/v1")
api_router.include_router(models.router)
api_router.include_router(blobs.router)
api_router.include_router(jobs.router)
