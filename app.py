"""Open the chat UI on the bundled article: `python app.py` (honours GRADIO_SERVER_PORT)."""

from hkai_qa.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["ask", "How does the government support AI?"]))
