"""The Pipeline Service: one package, folders by layer (each folder's docstring says what
lives there and what it may import; docs/ARCHITECTURE.md draws the flow and the layers).

domain/ pure logic (imports nothing else of ours) · ports.py the interfaces · config/
readers of configs/ · handlers/ application services over the ports · processors/ the
pipeline step types · adapters/ the ports on SQLite, Firestore, BigQuery, Pub/Sub, files ·
entrypoints/ HTTP, Pub/Sub and CLI · bootstrap/ the composition roots · demo/ and devtools/
(not in the function zips).
"""

from pathlib import Path

# The repository (or a function zip's root): configs/ and procedures/ sit beside shared/.
REPO_ROOT = Path(__file__).resolve().parent.parent
