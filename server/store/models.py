"""Models and their versioned weights."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from horn.server.store.tables import ModelRow, WeightsRow


def new_id() -> str:
    """A fresh resource id (32 hex characters)."""
    return uuid.uuid4().hex


def is_id(value: str) -> bool:
    """Whether `value` can be a resource id (anything else names nothing; checking
    first also keeps bytes such as NUL, which PostgreSQL refuses, out of queries)."""
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def create_model(session: Session, owner: str, name: str, spec: dict) -> ModelRow:
    """Register a model architecture."""
    row = ModelRow(id=new_id(), owner=owner, name=name, spec=spec, weights_version=None)
    session.add(row)
    session.flush()
    return row


def get_model(session: Session, model_id: str, owner: str | None = None) -> ModelRow | None:
    """The model, if it exists and (when `owner` is given) belongs to `owner`."""
    if not is_id(model_id):
        return None
    row = session.get(ModelRow, model_id)
    if row is None or (owner is not None and row.owner != owner):
        return None
    return row


def get_weights(session: Session, model_id: str, version: int | None = None
                ) -> WeightsRow | None:
    """A version of the model's weights; the newest when `version` is None."""
    query = select(WeightsRow).where(WeightsRow.model_id == model_id)
    if version is None:
        query = query.order_by(WeightsRow.version.desc()).limit(1)
    else:
        query = query.where(WeightsRow.version == version)
    return session.scalars(query).first()


def add_weights(session: Session, model_id: str, data: bytes, job_id: str | None,
                compile_id: str | None) -> int:
    """Store a new weights version and point the model at it; returns the version."""
    newest = session.scalar(
        select(WeightsRow.version).where(WeightsRow.model_id == model_id)
        .order_by(WeightsRow.version.desc()).limit(1)
    )
    version = 1 if newest is None else newest + 1
    session.add(WeightsRow(model_id=model_id, version=version, job_id=job_id,
                           compile_id=compile_id, data=data, size=len(data)))
    session.execute(update(ModelRow).where(ModelRow.id == model_id)
                    .values(weights_version=version))
    session.flush()
    return version
