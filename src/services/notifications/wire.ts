/** Notifications ↔ chronoverse.notifications.v1 messages. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  EntityTypeSchema,
  NotificationKindSchema,
  type Notification as NotificationMessage,
  type NotificationSchema,
} from '../../gen/chronoverse/notifications/v1/notifications_pb.js';
import {
  fromEnum,
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toEnum,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import { NOTIFICATION_ENTITY_TYPES, NOTIFICATION_KINDS } from '../../domain/notification-content.ts';
import type { NotificationView } from './service.ts';

export function notificationToWire(n: NotificationView): MessageInitShape<typeof NotificationSchema> {
  return {
    id: n.id,
    kind: toEnum(NotificationKindSchema, n.kind),
    title: n.title,
    message: n.message,
    entityType: toEnum(EntityTypeSchema, n.entity_type),
    entityId: n.entity_id,
    ...(n.action_url !== null ? { actionUrl: n.action_url } : {}),
    readAt: toOptionalTimestamp(n.read_at),
    createdAt: toTimestamp(n.created_at),
  };
}

export function notificationFromWire(m: NotificationMessage | undefined): NotificationView {
  const n = required(m, 'notification');
  return {
    id: n.id,
    kind: fromEnum(NotificationKindSchema, n.kind, NOTIFICATION_KINDS),
    title: n.title,
    message: n.message,
    entity_type: fromEnum(EntityTypeSchema, n.entityType, NOTIFICATION_ENTITY_TYPES),
    entity_id: n.entityId,
    action_url: n.actionUrl ?? null,
    read_at: fromOptionalTimestamp(n.readAt),
    created_at: fromTimestamp(n.createdAt),
  };
}
