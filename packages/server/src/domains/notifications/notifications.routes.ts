import { NOTIFICATION_STATUSES, NotificationSchema, NotificationSettingsSchema, pageQuery, pagedEnvelope, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok, page } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import { type NotificationsService, SettingsInput } from './notifications.service.js';

const SettingsSchema = NotificationSettingsSchema;

export function notificationsRoutes(app: FastifyInstance, { notifications }: { notifications: NotificationsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['notifications'];

  r.get('/api/notifications', {
    schema: {
      tags,
      summary: 'Messages Keyhold sent to your people (email, chat), newest first (owner, admin)',
      querystring: pageQuery().extend({ status: z.enum(NOTIFICATION_STATUSES).optional(), channel: z.enum(['email', 'chat']).optional() }),
      response: { 200: pagedEnvelope(NotificationSchema) },
    },
  }, async (req) => {
    const { items, pagination } = await notifications.list(principalOf(req), req.query);
    return page(items, pagination);
  });

  r.get('/api/notifications/settings', {
    schema: { tags, summary: 'Who hears of what, the chat alert channel and the email sender (owner, admin)', response: { 200: successEnvelope(SettingsSchema) } },
  }, async (req) => ok(await notifications.getSettings(principalOf(req))));

  r.put('/api/notifications/settings', {
    schema: { tags, summary: 'Replace the notification settings (owner, admin)', body: SettingsInput, response: { 200: successEnvelope(SettingsSchema) } },
  }, async (req) => ok(await notifications.putSettings(principalOf(req), req.body)));
}
