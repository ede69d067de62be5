from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import PartialIndex

class Migration(migrations.Migration):
    dependencies = [('regie', '0006_search_columns_compare_bytes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Payment',
            index=PartialIndex(fields=['lease_id'], condition={'status': 'declared'}),
        ),
    ]
