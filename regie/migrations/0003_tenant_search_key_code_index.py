from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('regie', '0002_access_control_and_treasury_imports')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Tenant',
            name='search_key',
            field=fields.CharField(description="Normalised 'surname first name' (lower case, no accents) used for ranking and ordering", max_length=200),
        ),
        ops.AddIndex(
            model_name='Tenant',
            index=Index(fields=['search_key', 'code']),
        ),
    ]
