"""Wire models of accounts and API keys (`/v1/me`, `/v1/admin/...`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}$"


class UserCreate(BaseModel):
    """Create a user (admins only)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=USER_NAME_PATTERN, max_length=100)
    is_admin: bool = False


class UserPublic(BaseModel):
    """A user."""

    name: str
    is_admin: bool
    created_at: datetime


class UsersPublic(BaseModel):
    """Every user, by name."""

    data: list[UserPublic]
    count: int


class ApiKeyCreate(BaseModel):
    """Create an API key for a user; the user is created when missing."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(pattern=USER_NAME_PATTERN, max_length=100)
    is_admin: bool = Field(default=False, description="Create (or promote) the user as an "
                           "administrator")


class ApiKeyPublic(BaseModel):
    """An API key as lists show it: never the secret."""

    id: str
    prefix: str = Field(description="The key starts `horn_<prefix>_`")
    user: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyPublic):
    """A new API key, with the key itself: shown once, stored only as a hash."""

    key: str


class ApiKeysPublic(BaseModel):
    """API keys, oldest first."""

    data: list[ApiKeyPublic]
    count: int
