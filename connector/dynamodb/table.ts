import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The table's current stream ARN; a table without a stream is a configuration error. */
export async function streamArnOf(dynamodb: DynamoDBClient, table: string): Promise<string> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
  const arn = Table?.LatestStreamArn;
  if (!arn || Table?.StreamSpecification?.StreamEnabled === false) {
    throw new Error(`table ${table} has no DynamoDB stream: enable one with StreamViewType NEW_AND_OLD_IMAGES`);
  }
  if (Table?.StreamSpecification?.StreamViewType && Table.StreamSpecification.StreamViewType !== 'NEW_AND_OLD_IMAGES') {
    // Without both images MODIFY cannot move money between rollup rows and audit entries lose the old values.
    throw new Error(
      `table ${table} streams ${Table.StreamSpecification.StreamViewType}; Shardline needs NEW_AND_OLD_IMAGES`,
    );
  }
  return arn;
}
