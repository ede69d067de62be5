from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from regie.db.ledger import PaymentMethod, PaymentSource, PaymentStatus
from regie.db.people import Role
from regie.db.places import DwellingStatus, DwellingType
from regie.db.treasury import ConfirmationChannel
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Commune',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(description="Official name, e.g. 'Saint-Étienne-de-Tulmont'", max_length=80)),
                ('postal_code', fields.CharField(max_length=5)),
            ],
            options={'table': 'commune', 'app': 'regie', 'unique_together': (('name', 'postal_code'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Residence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=120)),
                ('commune', fields.ForeignKeyField('regie.Commune', source_field='commune_id', db_constraint=True, to_field='id', related_name='residences', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'residence', 'app': 'regie', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Dwelling',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reference', fields.CharField(unique=True, max_length=20)),
                ('residence', fields.ForeignKeyField('regie.Residence', source_field='residence_id', null=True, db_constraint=True, to_field='id', related_name='dwellings', on_delete=OnDelete.RESTRICT)),
                ('commune', fields.ForeignKeyField('regie.Commune', source_field='commune_id', db_constraint=True, to_field='id', related_name='dwellings', on_delete=OnDelete.RESTRICT)),
                ('address', fields.CharField(description='Street address within the commune', max_length=200)),
                ('dwelling_type', fields.CharEnumField(description='T1: T1\nT2: T2\nT3: T3\nT4: T4\nT5: T5\nT6: T6', enum_type=DwellingType, max_length=2)),
                ('surface_dm2', fields.IntField(description='Living area in square decimetres (1 m² = 100 dm²)')),
                ('status', fields.CharEnumField(default=DwellingStatus.OCCUPIED, description='OCCUPIED: occupied\nVACANT: vacant', enum_type=DwellingStatus, max_length=10)),
            ],
            options={'table': 'dwelling', 'app': 'regie', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, description='Tenant code printed on rent demands', max_length=12)),
                ('title', fields.CharField(description='M., Mme …', max_length=10)),
                ('surname', fields.CharField(max_length=80)),
                ('first_name', fields.CharField(max_length=80)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('search_key', fields.CharField(db_index=True, description="Normalised 'surname first name' (lower case, no accents) used for ranking and ordering", max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tenant', 'app': 'regie', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lease',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dwelling', fields.ForeignKeyField('regie.Dwelling', source_field='dwelling_id', db_constraint=True, to_field='id', related_name='leases', on_delete=OnDelete.RESTRICT)),
                ('tenant', fields.ForeignKeyField('regie.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='leases', on_delete=OnDelete.RESTRICT)),
                ('start_date', fields.DateField()),
                ('end_date', fields.DateField(null=True)),
                ('rent_cents', fields.BigIntField(description='Monthly rent, cents')),
                ('service_charges_cents', fields.BigIntField(description='Monthly recoverable service charges, cents')),
                ('housing_benefit_cents', fields.BigIntField(default=0, description='Monthly housing benefit paid directly by the CAF to the landlord, cents')),
            ],
            options={'table': 'lease', 'app': 'regie', 'indexes': [Index(fields=['tenant_id', 'start_date'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AccountSnapshot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('lease', fields.OneToOneField('regie.Lease', source_field='lease_id', db_constraint=True, to_field='id', related_name='snapshot', on_delete=OnDelete.CASCADE)),
                ('charged_cents', fields.BigIntField()),
                ('confirmed_cents', fields.BigIntField()),
                ('declared_cents', fields.BigIntField()),
                ('open_charges', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('last_charge_id', fields.IntField(null=True)),
                ('last_payment_id', fields.IntField(null=True)),
                ('as_of', fields.DatetimeField(null=True, description='When the latest treasury confirmation was applied, UTC', auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'account_snapshot', 'app': 'regie', 'pk_attr': 'id', 'table_description': 'The ledger of one lease summed up, rewritten in the same transaction as every ledger write.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Charge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('lease', fields.ForeignKeyField('regie.Lease', source_field='lease_id', db_constraint=True, to_field='id', related_name='charges', on_delete=OnDelete.RESTRICT)),
                ('period', fields.DateField(description='First day of the month billed')),
                ('amount_cents', fields.BigIntField()),
                ('due_date', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'charge', 'app': 'regie', 'unique_together': (('lease', 'period'),), 'pk_attr': 'id', 'table_description': 'One monthly rent charge: rent + recoverable charges − housing benefit paid by the CAF.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('lease', fields.ForeignKeyField('regie.Lease', source_field='lease_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('amount_cents', fields.BigIntField()),
                ('method', fields.CharEnumField(description='TRANSFER: transfer\nDIRECT_DEBIT: direct_debit\nCHEQUE: cheque\nCASH: cash\nPAYMENT_SLIP: payment_slip\nCAF: caf', enum_type=PaymentMethod, max_length=20)),
                ('status', fields.CharEnumField(default=PaymentStatus.DECLARED, description='DECLARED: declared\nCONFIRMED: confirmed\nREJECTED: rejected', enum_type=PaymentStatus, max_length=10)),
                ('source', fields.CharEnumField(description='FIELD: field\nOFFICE: office\nTREASURY_FILE: treasury_file\nTREASURY_PUSH: treasury_push\nDEMO: demo', enum_type=PaymentSource, max_length=20)),
                ('paid_on', fields.DateField(description='Date the tenant paid (as declared or as booked)')),
                ('recorded_at', fields.DatetimeField(description='When Régie recorded it, UTC', auto_now=False, auto_now_add=False)),
                ('rejected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rejection_reason', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'payment', 'app': 'regie', 'indexes': [Index(fields=['lease_id', 'paid_on'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Confirmation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('payment', fields.OneToOneField('regie.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='confirmation', on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharEnumField(description='FILE: file\nPUSH: push\nDEMO: demo', enum_type=ConfirmationChannel, max_length=10)),
                ('source', fields.CharField(description='Who confirmed: treasury or bank, file or push id', max_length=120)),
                ('booked_on', fields.DateField(description='Booking date at the treasury or bank')),
                ('applied_at', fields.DatetimeField(description='When Régie applied it, UTC', auto_now=False, auto_now_add=False)),
                ('bank_reference', fields.CharField(null=True, max_length=140)),
            ],
            options={'table': 'confirmation', 'app': 'regie', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TenantNameWord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('regie.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='name_words', on_delete=OnDelete.CASCADE)),
                ('word', fields.CharField(db_index=True, max_length=80)),
            ],
            options={'table': 'tenant_name_word', 'app': 'regie', 'unique_together': (('tenant', 'word'),), 'pk_attr': 'id', 'table_description': "One searchable word of a tenant's name (normalised), so prefix search uses an index."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=60)),
                ('full_name', fields.CharField(max_length=120)),
                ('role', fields.CharEnumField(description='COLLECTOR: collector\nOFFICE: office\nADMIN: admin', enum_type=Role, max_length=10)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'app_user', 'app': 'regie', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sector',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=80)),
                ('collector', fields.ForeignKeyField('regie.User', source_field='collector_id', null=True, db_constraint=True, to_field='id', related_name='sectors', on_delete=OnDelete.SET_NULL)),
                ('communes', fields.ManyToManyField('regie.Commune', unique=True, db_constraint=True, through='sector_commune', forward_key='commune_id', backward_key='sector_id', related_name='sectors', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'sector', 'app': 'regie', 'pk_attr': 'id', 'table_description': 'A set of communes worked by one collector.'},
            bases=['Model'],
        ),
    ]
