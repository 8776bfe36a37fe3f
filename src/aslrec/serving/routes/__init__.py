"""The service's routes, one ``APIRouter`` per concern; :func:`~aslrec.serving.app.create_app`
includes them and decides which need the API key."""
