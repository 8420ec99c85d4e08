"""Move each chunk's full-text vector to a narrow table of its own (see ChunkLexemes).

The existing vectors are copied with the document title added (weight B), which is what
Chunk.lexemes() writes from now on; then the GIN index is built and the old column dropped.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

COPY_SQL = """
INSERT INTO knowledge_chunklexemes (chunk_id, knowledge_base_id, search_vector)
SELECT c.id, c.knowledge_base_id,
       setweight(to_tsvector('english', COALESCE(d.title, '')), 'B') || c.search_vector
FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0003_chunk_embedding_storage_plain"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChunkLexemes",
            fields=[
                (
                    "chunk",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="knowledge.chunk",
                    ),
                ),
                (
                    "knowledge_base",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="knowledge.knowledgebase",
                    ),
                ),
                ("search_vector", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        # Going back, the regenerated column is recomputed from the text by Postgres.
        migrations.RunSQL(COPY_SQL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="chunklexemes",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="chunk_lexemes_gin"
            ),
        ),
        migrations.AddIndex(
            model_name="chunklexemes",
            index=models.Index(fields=["knowledge_base"], name="chunk_lexemes_kb_idx"),
        ),
        migrations.RemoveIndex(
            model_name="chunk",
            name="chunk_search_vector_gin",
        ),
        migrations.RemoveField(
            model_name="chunk",
            name="search_vector",
        ),
    ]
