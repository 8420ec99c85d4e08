"""BM25 for the lexical half: postings and per-base statistics, kept by triggers.

Every write of ``knowledge_chunklexemes`` (the chunk's tsvector) writes or removes the
chunk's postings (one row per term: term frequency, chunk length) and adjusts its base's
chunk and term counts, in the same statement, so the statistics are those of the stored
chunks at every moment, whatever path writes them (indexing, a new version, deletion of a
document or a base). Plain SQL and PL/pgSQL: nothing a managed PostgreSQL lacks. Inserts
are statement-level (one INSERT ... SELECT for a whole bulk_create); deletes and updates are
row-level, so that each finds its postings through the primary key, never by a scan.
The GIN index on the tsvector goes: nothing matches through it any more.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTINGS_PRIMARY_KEY = """
ALTER TABLE knowledge_lexicalposting DROP CONSTRAINT knowledge_lexicalposting_pkey;
ALTER TABLE knowledge_lexicalposting
    ADD CONSTRAINT knowledge_lexicalposting_pkey
    PRIMARY KEY (term, knowledge_base_id, chunk_id) INCLUDE (tf, dl);
"""

TRIGGERS = """
CREATE FUNCTION knowledge_tsvector_length(v tsvector) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(SUM(COALESCE(array_length(t.positions, 1), 1)), 0)::integer
    FROM unnest(v) AS t
$$;

CREATE FUNCTION knowledge_lexemes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO knowledge_lexicalposting (term, knowledge_base_id, chunk_id, tf, dl)
    SELECT t.lexeme, n.knowledge_base_id, n.chunk_id,
           LEAST(COALESCE(array_length(t.positions, 1), 1), 32767),
           LEAST(d.dl, 32767)
    FROM new_rows AS n
    CROSS JOIN LATERAL (SELECT knowledge_tsvector_length(n.search_vector) AS dl) AS d
    CROSS JOIN LATERAL unnest(n.search_vector) AS t;
    INSERT INTO knowledge_lexicalstats (knowledge_base_id, chunk_count, length_sum)
    SELECT knowledge_base_id, count(*), SUM(knowledge_tsvector_length(search_vector))
    FROM new_rows GROUP BY knowledge_base_id
    ON CONFLICT (knowledge_base_id) DO UPDATE
        SET chunk_count = knowledge_lexicalstats.chunk_count + EXCLUDED.chunk_count,
            length_sum = knowledge_lexicalstats.length_sum + EXCLUDED.length_sum;
    RETURN NULL;
END $$;

CREATE FUNCTION knowledge_lexemes_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM knowledge_lexicalposting
    WHERE term = ANY (tsvector_to_array(OLD.search_vector))
      AND knowledge_base_id = OLD.knowledge_base_id
      AND chunk_id = OLD.chunk_id;
    UPDATE knowledge_lexicalstats
    SET chunk_count = chunk_count - 1,
        length_sum = length_sum - knowledge_tsvector_length(OLD.search_vector)
    WHERE knowledge_base_id = OLD.knowledge_base_id;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO knowledge_lexicalposting (term, knowledge_base_id, chunk_id, tf, dl)
        SELECT t.lexeme, NEW.knowledge_base_id, NEW.chunk_id,
               LEAST(COALESCE(array_length(t.positions, 1), 1), 32767),
               LEAST(knowledge_tsvector_length(NEW.search_vector), 32767)
        FROM unnest(NEW.search_vector) AS t;
        INSERT INTO knowledge_lexicalstats (knowledge_base_id, chunk_count, length_sum)
        VALUES (NEW.knowledge_base_id, 1, knowledge_tsvector_length(NEW.search_vector))
        ON CONFLICT (knowledge_base_id) DO UPDATE
            SET chunk_count = knowledge_lexicalstats.chunk_count + 1,
                length_sum = knowledge_lexicalstats.length_sum + EXCLUDED.length_sum;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER knowledge_lexemes_postings_insert
    AFTER INSERT ON knowledge_chunklexemes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_lexemes_inserted();
CREATE TRIGGER knowledge_lexemes_postings_delete
    AFTER DELETE ON knowledge_chunklexemes
    FOR EACH ROW EXECUTE FUNCTION knowledge_lexemes_removed();
CREATE TRIGGER knowledge_lexemes_postings_update
    AFTER UPDATE OF search_vector, knowledge_base_id ON knowledge_chunklexemes
    FOR EACH ROW EXECUTE FUNCTION knowledge_lexemes_removed();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS knowledge_lexemes_postings_insert ON knowledge_chunklexemes;
DROP TRIGGER IF EXISTS knowledge_lexemes_postings_delete ON knowledge_chunklexemes;
DROP TRIGGER IF EXISTS knowledge_lexemes_postings_update ON knowledge_chunklexemes;
DROP FUNCTION IF EXISTS knowledge_lexemes_inserted();
DROP FUNCTION IF EXISTS knowledge_lexemes_removed();
DROP FUNCTION IF EXISTS knowledge_tsvector_length(tsvector);
"""

# The chunks stored before this migration get their postings and statistics.
BACKFILL = """
INSERT INTO knowledge_lexicalposting (term, knowledge_base_id, chunk_id, tf, dl)
SELECT t.lexeme, c.knowledge_base_id, c.chunk_id,
       LEAST(COALESCE(array_length(t.positions, 1), 1), 32767), LEAST(d.dl, 32767)
FROM knowledge_chunklexemes AS c
CROSS JOIN LATERAL (SELECT knowledge_tsvector_length(c.search_vector) AS dl) AS d
CROSS JOIN LATERAL unnest(c.search_vector) AS t;
INSERT INTO knowledge_lexicalstats (knowledge_base_id, chunk_count, length_sum)
SELECT knowledge_base_id, count(*), SUM(knowledge_tsvector_length(search_vector))
FROM knowledge_chunklexemes GROUP BY knowledge_base_id;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0004_chunk_lexemes'),
    ]

    operations = [
        migrations.CreateModel(
            name='LexicalPosting',
            fields=[
                ('pk', models.CompositePrimaryKey('term', 'knowledge_base_id', 'chunk_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('term', models.TextField()),
                ('knowledge_base_id', models.BigIntegerField()),
                ('chunk_id', models.BigIntegerField()),
                ('tf', models.SmallIntegerField(help_text='Occurrences of the term in the chunk.')),
                ('dl', models.SmallIntegerField(help_text='Terms in the chunk (its length for BM25).')),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.RunSQL(POSTINGS_PRIMARY_KEY, reverse_sql=migrations.RunSQL.noop),
        migrations.CreateModel(
            name='LexicalStats',
            fields=[
                ('knowledge_base', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='knowledge.knowledgebase')),
                ('chunk_count', models.BigIntegerField(default=0)),
                ('length_sum', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.RunSQL(TRIGGERS, reverse_sql=DROP_TRIGGERS),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveIndex(
            model_name='chunklexemes',
            name='chunk_lexemes_gin',
        ),
    ]
