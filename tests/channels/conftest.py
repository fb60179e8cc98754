import pytest

import wslab
from wslab.channels import App, cluster


@pytest.fixture
def app():
    return App()


@pytest.fixture
def stop_all():
    """Whatever the test started (Redis, nginx, nodes, clients) is stopped after it."""
    yield
    wslab.stop_all()


@pytest.fixture
def two_nodes(stop_all):
    return cluster(nodes=2, name="test-cluster")
