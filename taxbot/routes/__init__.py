"""HTTP routes, one module per area, and the dependencies they share (state set by the app's lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from rasa_sdk.executor import ActionExecutor

from taxbot.rasa_client import RasaClient
from taxbot.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


def get_executor(request: Request) -> ActionExecutor:
    return request.app.state.executor


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]
ExecutorDep = Annotated[ActionExecutor, Depends(get_executor)]
