/* Unit tests of the NoiseLearner: learning, decay of fixed fields, bounds. */
import { test } from 'node:test'
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { NoiseLearner } from '../../src/compare/noise.ts'

test('NoiseLearner should flag paths that differ between primary answers, with collapsed indices', () => {
  const learner = new NoiseLearner({ minObservations: 5, threshold: 0.2 })
  for (let i = 0; i < 20; i++) learner.observe('GET /orders/:id', i % 2 === 0 ? ['$.requestId', `$.items[${i}].at`, '$.requestId'] : ['$.requestId'])
  strictEqual(learner.isNoisy('GET /orders/:id', '$.requestId'), true)
  strictEqual(learner.isNoisy('GET /orders/:id', '$.items[7].at'), true)
  strictEqual(learner.isNoisy('GET /orders/:id', '$.total'), false)
  strictEqual(learner.isNoisy('GET /other', '$.requestId'), false)
  ok(Math.abs(learner.rate('GET /orders/:id', '$.requestId') - 1) < 1e-9)
  const list = learner.list('GET /orders/:id')
  deepStrictEqual(list.map((p) => p.path), ['$.requestId', '$.items[*].at'])
  strictEqual(list[0].noisy, true)
  ok(list[1].rate > 0.4 && list[1].rate < 0.6)
  strictEqual(learner.allNoisy('GET /orders/:id', ['$.requestId', '$.items[0].at']), true)
  strictEqual(learner.allNoisy('GET /orders/:id', ['$.requestId', '$.total']), false)
  strictEqual(learner.allNoisy('GET /orders/:id', []), false)
  deepStrictEqual(learner.list('nope'), [])
  strictEqual(learner.rate('nope', '$'), 0)
})

test('NoiseLearner should not call anything noisy before minObservations', () => {
  const learner = new NoiseLearner({ minObservations: 5 })
  learner.observe('r', ['$.a'])
  strictEqual(learner.isNoisy('r', '$.a'), false)
  strictEqual(learner.list('r')[0].noisy, false)
})

test('NoiseLearner should forget a field that stops differing', () => {
  const learner = new NoiseLearner({ halfLife: 10, threshold: 0.05 })
  for (let i = 0; i < 50; i++) learner.observe('r', ['$.nonce'])
  strictEqual(learner.isNoisy('r', '$.nonce'), true)
  for (let i = 0; i < 100; i++) learner.observe('r', [])
  strictEqual(learner.isNoisy('r', '$.nonce'), false)
  ok(learner.rate('r', '$.nonce') < 0.05)
})

test('NoiseLearner should bound routes and paths', () => {
  const learner = new NoiseLearner({ maxRoutes: 3, maxPathsPerRoute: 4 })
  for (let i = 0; i < 10; i++) learner.observe(`route-${i}`, ['$.x'])
  deepStrictEqual(learner.routes(), ['route-7', 'route-8', 'route-9'])
  learner.observe('route-7', [])
  deepStrictEqual(learner.routes(), ['route-8', 'route-9', 'route-7'])
  for (let i = 0; i < 6; i++) learner.observe('r', ['$.keep'])
  for (let i = 0; i < 20; i++) learner.observe('r', ['$.keep', `$.p${i}`])
  const paths = learner.list('r').map((p) => p.path)
  strictEqual(paths.length, 4)
  ok(paths.includes('$.keep'))
  learner.reset()
  deepStrictEqual(learner.routes(), [])
})
