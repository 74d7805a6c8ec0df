"""``python -m zswaplab.agent``: the agent command alone (imports only the agent, so it starts fast)."""

from .cli import agent

if __name__ == "__main__":
    agent()
